-- Feeds delivered for a month that have no rows for one partner.
select feed
from missing_partner_data
where month = $month and partner_id = $partner_id
order by feed
