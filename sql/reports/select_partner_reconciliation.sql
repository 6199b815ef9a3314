-- Every partner's reconciliation warnings for a month.
select
    partner_id,
    country,
    segment,
    check_name,
    left_feed,
    left_units,
    right_feed,
    right_units,
    difference
from reconciliation
where month = $month
order by partner_id asc, difference desc, country asc, segment asc
