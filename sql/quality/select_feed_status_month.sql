-- Each feed's status for one month.
select
    month,
    feed,
    status,
    rows_in_force,
    partners,
    problems
from feed_status
where month = $month
order by feed
