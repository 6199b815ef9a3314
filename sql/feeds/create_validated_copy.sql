-- In the suite process: the rows copied by copy_validating_rows as the feed's table of an
-- in-memory database, for the suite to judge as it would in the loading process.
create table {feed} as
select * from read_parquet($path)
