-- Each partner's KPIs over each region's countries only (SPEC section 8): ratios of sums
-- over the region's country x segment cells, MoM and YoY over the same countries.
-- A partner appears in a region when it has rows in the region's countries this month.
with region_of as (
    select
        unnest($countries) as country,
        unnest($regions) as region
),

summed as (
    select
        r.region,
        s.partner_id,
        s.month,
        sum(s.shipped_units)::double as shipped_units,
        sum(s.server_units)::double as server_units,
        sum(s.fc_shipped_units) / nullif(sum(s.fc_forecast_units), 0) as forecast_attainment,
        sum(s.windows_units) / nullif(sum(s.ws_units), 0) as windows_share,
        sum(s.pro_units) / nullif(sum(s.pm_units), 0) as pro_mix,
        sum(s.premium_units) / nullif(sum(s.pm_units), 0) as premium_mix,
        -- Money summed exactly, in any order (see insert_kpi_sums_month.sql).
        sum(s.license_revenue_usd::decimal(38, 12))::double as license_revenue_usd,
        sum(s.office_attached_units) / nullif(sum(s.office_base_units), 0) as office_attach,
        sum(s.server_attached_units) / nullif(sum(s.server_base_units), 0) as server_attach,
        sum(s.office_sell_thru_units)::double as office_sell_thru_units,
        sum(s.server_sell_thru_units)::double as server_sell_thru_units
    from kpi_sums as s
    inner join region_of as r on s.country = r.country
    where s.month in ($month, $prior_month, $prior_year_month)
    group by r.region, s.partner_id, s.month
),

long as (
    select *
    from summed
    unpivot include nulls (
        value for kpi in (
            shipped_units, server_units, forecast_attainment, windows_share, pro_mix,
            premium_mix, license_revenue_usd, office_attach, server_attach,
            office_sell_thru_units, server_sell_thru_units
        )
    )
),

by_key as (
    select
        region,
        partner_id,
        kpi,
        max(value) filter (where month = $month) as value,
        max(value) filter (where month = $prior_month) as prior_month,
        max(value) filter (where month = $prior_year_month) as prior_year
    from long
    group by region, partner_id, kpi
    having bool_or(month = $month)
)

select
    region,
    partner_id,
    kpi,
    value,
    case
        when list_contains($volume_kpis, kpi) then (value - prior_month) / nullif(prior_month, 0)
        else value - prior_month
    end as mom_change,
    case
        when list_contains($volume_kpis, kpi) then (value - prior_year) / nullif(prior_year, 0)
        else value - prior_year
    end as yoy_change
from by_key
order by region, partner_id, kpi
