-- Latest delivery of each feed-month in a range, with the rows in force for it.
with latest as (
    select
        feed,
        month,
        status,
        rows,
        problems,
        checks_failed,
        quarantine,
        checked_at,
        row_number() over (partition by feed, month order by checked_at desc) as recency
    from deliveries
    where month between $first and $last
)

select
    feed,
    month,
    status,
    rows,
    problems,
    checks_failed,
    quarantine,
    checked_at
from latest
where recency = 1
order by month, feed
