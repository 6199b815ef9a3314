-- A whole table of the attached DuckDB file warehouse, moved into the DuckLake warehouse
-- (by column name: a file written by an older oemkpi may lack newer nullable columns).
insert into {table} by name
select * from {source}.{table}
