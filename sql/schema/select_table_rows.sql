-- How many rows a table of an attached warehouse holds (the lake's, or the source file's).
select count(*) as row_count from {catalog}.{table}
