-- Per-partner totals of one month of marketing, for the Dagster UI preview
-- (cancelled activities are listed but left out of budget and spent).
select
    partner_id,
    count(*) as activities,
    string_agg(distinct fiscal_quarter, ', ' order by fiscal_quarter) as quarters,
    round(sum(budget_usd) filter (where status != 'cancelled'), 2) as budget_usd,
    round(sum(spent_usd) filter (where status != 'cancelled'), 2) as spent_usd
from marketing
where month = $month
group by partner_id
order by partner_id
