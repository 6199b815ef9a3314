-- One file's records, each contract column's trimmed text taken from its position.
insert into raw_rows
select
    ? as _file,
    ? as _base,
    {text_columns}
from {relation}
