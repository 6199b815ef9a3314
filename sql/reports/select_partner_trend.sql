-- Every partner's monthly KPIs over a window of months (ratios of sums), for trend charts.
select
    partner_id,
    month,
    sum(shipped_units) as shipped_units,
    sum(fc_forecast_units) as forecast_units,
    sum(fc_shipped_units) / nullif(sum(fc_forecast_units), 0) as forecast_attainment,
    sum(windows_units) / nullif(sum(ws_units), 0) as windows_share,
    sum(pro_units) / nullif(sum(pm_units), 0) as pro_mix,
    sum(premium_units) / nullif(sum(pm_units), 0) as premium_mix,
    -- Money summed exactly, in any order (see insert_kpi_sums_month.sql).
    sum(license_revenue_usd::decimal(38, 12))::double as license_revenue_usd,
    sum(office_attached_units) / nullif(sum(office_base_units), 0) as office_attach,
    sum(server_attached_units) / nullif(sum(server_base_units), 0) as server_attach
from kpi_sums
where month between $first and $last
group by partner_id, month
order by partner_id, month
