-- One partner's reconciliation warnings for a month.
select country, segment, check_name, left_feed, left_units, right_feed, right_units, difference
from reconciliation
where month = $month and partner_id = $partner_id
order by difference desc, country, segment
