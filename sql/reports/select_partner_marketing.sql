-- The marketing activities that count for the month, every partner's (split by partner
-- in Python): the quarter's activities of its latest delivery within the quarter.
select
    partner_id,
    fiscal_quarter,
    as_of,
    activity_id,
    kind,
    activity,
    country,
    budget_usd,
    spent_usd,
    status,
    poe_status,
    strftime(end_date, '%Y-%m-%d') as end_date
from marketing_quarter
where month = $month
order by partner_id asc, budget_usd desc, activity_id asc
