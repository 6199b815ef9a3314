-- The feed-months of a range that are late: missing past their due day (SPEC 3.5).
select
    feed,
    month
from feed_status
where month between $first and $last and status = 'late'
order by month, feed
