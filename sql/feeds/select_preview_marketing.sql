-- Per-partner totals of one month of marketing, for the Dagster UI preview
-- (cancelled activities are listed but left out of budget and spent).
select
    partner_id,
    count(*) as activities,
    string_agg(distinct fiscal_quarter, ', ' order by fiscal_quarter) as quarters,
    -- Money summed exactly, in any order (see insert_kpi_sums_month.sql).
    round(sum(budget_usd::decimal(38, 12)) filter (where status != 'cancelled')::double, 2)
        as budget_usd,
    round(sum(spent_usd::decimal(38, 12)) filter (where status != 'cancelled')::double, 2)
        as spent_usd
from marketing
where month = $month
group by partner_id
order by partner_id
