-- Each feed's status for a month, as the data-quality appendix shows it.
select
    feed,
    status,
    rows_in_force,
    problems,
    checks_failed,
    delivered_at,
    quarantine
from feed_status
where month = $month
order by feed
