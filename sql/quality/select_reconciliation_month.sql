-- Reconciliation warnings of one month.
select
    month,
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
order by partner_id, check_name, country, segment
