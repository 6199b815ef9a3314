-- The staged values with _row, the line users see: record k (0-based) of a file is on
-- line k + 2, after the header. A view, not a table: at 10M rows writing one more copy
-- cost more than computing the number twice.
create or replace view rows as
select
    r.* exclude (_base),
    r.rowid - r._base + 2 as _row
from raw_rows as r
