-- CSV records DuckDB rejected as too long only because blank lines came before them,
-- read by oemkpi.ingest.csv_files instead, with the line users see.
create or replace table raw_rescued (
    _file varchar,
    _row bigint,
    {column_definitions}
)
