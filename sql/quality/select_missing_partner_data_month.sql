-- Partners missing from a delivered feed in one month.
select
    month,
    feed,
    partner_id
from missing_partner_data
where month = $month
order by feed, partner_id
