-- Per-partner totals of one month of premium_mix, for the Dagster UI preview.
select
    partner_id,
    count(*) as row_count,
    count(distinct country) as countries,
    sum(units) as units,
    round(
        sum(units) filter (where edition in ('pro', 'pro_workstation')) / nullif(sum(units), 0), 4
    ) as pro_mix,
    -- Money summed exactly, in any order (see insert_kpi_sums_month.sql).
    round(sum(license_revenue_usd::decimal(38, 12))::double, 2) as license_revenue_usd
from premium_mix
where month = $month
group by partner_id
order by partner_id
