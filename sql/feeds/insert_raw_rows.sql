-- One file's records, each contract column's trimmed text taken from its position;
-- {every_column} makes DuckDB read (and check) the other columns too.
insert into raw_rows
select
    ? as _file,
    ? as _base,
    {text_columns}
from {relation}
where {every_column}
