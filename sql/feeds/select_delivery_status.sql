-- Latest delivery of each feed-month in a range, with its rows, and whether a delivery
-- of the feed-month is in force (a rejected re-delivery leaves the earlier one in force).
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
        row_number() over (partition by feed, month order by checked_at desc) as recency,
        bool_or(status = 'loaded') over (partition by feed, month) as in_force
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
    checked_at,
    in_force
from latest
where recency = 1
order by month, feed
