-- The months a transaction has just written to a feed table, shaped as the suite expects
-- (the staged table's _file and _row are unknown for rows read straight from the files).
-- The months are bound with `set variable oemkpi_months = ?`.
create or replace temp view oemkpi_validating as
select
    null::varchar as _file,
    null::bigint as _row,
    {columns}
from {feed}
where list_contains(getvariable('oemkpi_months'), month)
