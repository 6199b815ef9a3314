-- CSV records DuckDB rejected, as shifts of the line numbers of the records after them.
create or replace table raw_shift (
    _file varchar,
    k_threshold bigint,
    shift bigint
)
