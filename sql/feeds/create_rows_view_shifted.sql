-- As create_rows_view, plus the CSV records before each record that DuckDB rejected,
-- and the rejected records that were read after all (raw_rescued).
create or replace view rows as
with numbered as (
    select
        r.* exclude (_base),
        r.rowid - r._base as _k
    from raw_rows as r
)

select
    n.* exclude (_k),
    n._k + 2 + coalesce(s.shift, 0) as _row
from numbered as n
asof left join raw_shift as s
    on n._file = s._file and n._k >= s.k_threshold
union all by name
select * from raw_rescued
