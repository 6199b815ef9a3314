-- KPIs of one month from kpi_sums: value, prior month, prior year, changes, QTD, target.
-- Ratios are ratios of sums at each scope; QTD is the same over the quarter's months so far.
insert into kpi_values
with base as (
    select *
    from kpi_sums
    where month in ($month, $prior_month, $prior_year_month)
    union all
    select * replace ('qtd' as month)
    from kpi_sums
    where list_contains($qtd_months, month)
),

summed as (
    select
        month,
        partner_id,
        case
            when grouping(country) = 0 then 'country'
            when grouping(segment) = 0 then 'segment'
            else 'partner'
        end as scope,
        country,
        segment,
        sum(shipped_units) as shipped_units,
        sum(server_units) as server_units,
        sum(fc_shipped_units) as fc_shipped_units,
        sum(fc_forecast_units) as fc_forecast_units,
        sum(windows_units) as windows_units,
        sum(ws_units) as ws_units,
        sum(pro_units) as pro_units,
        sum(premium_units) as premium_units,
        sum(pm_units) as pm_units,
        -- Money summed exactly, in any order (see insert_kpi_sums_month.sql).
        sum(license_revenue_usd::decimal(38, 12))::double as license_revenue_usd,
        sum(office_attached_units) as office_attached_units,
        sum(office_base_units) as office_base_units,
        sum(office_sell_thru_units) as office_sell_thru_units,
        sum(server_attached_units) as server_attached_units,
        sum(server_base_units) as server_base_units,
        sum(server_sell_thru_units) as server_sell_thru_units
    from base
    group by grouping sets (
        (month, partner_id),
        (month, partner_id, country),
        (month, partner_id, segment)
    )
),

ratios as (
    select
        month,
        partner_id,
        scope,
        country,
        segment,
        shipped_units::double as shipped_units,
        server_units::double as server_units,
        fc_shipped_units / nullif(fc_forecast_units, 0) as forecast_attainment,
        windows_units / nullif(ws_units, 0) as windows_share,
        pro_units / nullif(pm_units, 0) as pro_mix,
        premium_units / nullif(pm_units, 0) as premium_mix,
        license_revenue_usd,
        office_attached_units / nullif(office_base_units, 0) as office_attach,
        server_attached_units / nullif(server_base_units, 0) as server_attach,
        office_sell_thru_units::double as office_sell_thru_units,
        server_sell_thru_units::double as server_sell_thru_units
    from summed
),

long as (
    select *
    from ratios
    unpivot include nulls (
        value for kpi in (
            shipped_units, server_units, forecast_attainment, windows_share, pro_mix,
            premium_mix, license_revenue_usd, office_attach, server_attach,
            office_sell_thru_units, server_sell_thru_units
        )
    )
),

by_key as (
    -- One row per partner, scope, country, segment and KPI: each month's value picked
    -- by a conditional aggregate (a key has at most one row per month). A key appears
    -- when the month has it, or at partner scope when any compared month has it.
    select
        partner_id,
        scope,
        country,
        segment,
        kpi,
        max(value) filter (where month = $month) as value,
        max(value) filter (where month = $prior_month) as prior_month,
        max(value) filter (where month = $prior_year_month) as prior_year,
        max(value) filter (where month = 'qtd') as qtd
    from long
    group by partner_id, scope, country, segment, kpi
    having bool_or(month = $month) or scope = 'partner'
),

joined as (
    select
        k.*,
        t.target
    from by_key as k
    left join targets as t
        on
            k.scope = 'partner'
            and k.partner_id = t.partner_id
            and t.fiscal_quarter = $fiscal_quarter
            and k.kpi = t.kpi
)

select
    $month as month,
    partner_id,
    scope,
    country,
    segment,
    kpi,
    value,
    prior_month,
    prior_year,
    case
        when list_contains($volume_kpis, kpi) then (value - prior_month) / nullif(prior_month, 0)
        else value - prior_month
    end as mom_change,
    case
        when list_contains($volume_kpis, kpi) then (value - prior_year) / nullif(prior_year, 0)
        else value - prior_year
    end as yoy_change,
    qtd,
    target
from joined
order by partner_id, scope, country, segment, kpi
