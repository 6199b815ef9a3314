-- Feeds delivered for a month that have no rows for a partner, per partner.
select
    partner_id,
    feed
from missing_partner_data
where month = $month
order by partner_id, feed
