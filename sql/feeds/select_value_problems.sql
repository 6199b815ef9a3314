-- Every staged value that breaks its column's typing rule (one branch per column and
-- rule, generated from oemkpi.ingest.typing_rules), at most $max_listed per file,
-- column and rule; n counts them all.
with found as (
    {branches}
),

ranked as (
    select
        *,
        row_number() over (partition by _file, col, rule order by _row) as rn,
        count(*) over (partition by _file, col, rule) as n
    from found
)

select
    _file,
    _row,
    col,
    value,
    rule,
    n
from ranked
where rn <= $max_listed
order by _file, _row, col
