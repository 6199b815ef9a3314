-- Every partner's additive sums per country x segment for a month and the month before:
-- the numerators and denominators of each ratio KPI, from which the report splits a
-- month-on-month change into rate and mix (SPEC section 4) and sums table rows it leaves out.
select
    partner_id,
    case when month = $month then 1 else 0 end as period,
    country,
    segment,
    shipped_units,
    server_units,
    fc_shipped_units,
    fc_forecast_units,
    windows_units,
    ws_units,
    pro_units,
    premium_units,
    pm_units,
    license_revenue_usd,
    office_attached_units,
    office_base_units,
    office_sell_thru_units,
    server_attached_units,
    server_base_units,
    server_sell_thru_units
from kpi_sums
where month in ($month, $prior_month)
order by partner_id, period, country, segment
