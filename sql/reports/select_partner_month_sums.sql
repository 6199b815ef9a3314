-- Every partner's additive sums over all its countries and segments for the month, the
-- month before and the same month a year before: the index adds them over partners for
-- its "All partners" ratios (ratios of sums, MoM and YoY like every other figure).
select
    partner_id,
    case
        when month = $month then 'month'
        when month = $prior_month then 'prior_month'
        else 'prior_year'
    end as period,
    sum(fc_shipped_units) as fc_shipped_units,
    sum(fc_forecast_units) as fc_forecast_units,
    sum(windows_units) as windows_units,
    sum(ws_units) as ws_units,
    sum(pro_units) as pro_units,
    sum(premium_units) as premium_units,
    sum(pm_units) as pm_units,
    sum(office_attached_units) as office_attached_units,
    sum(office_base_units) as office_base_units,
    sum(server_attached_units) as server_attached_units,
    sum(server_base_units) as server_base_units
from kpi_sums
where month in ($month, $prior_month, $prior_year_month)
group by partner_id, month
order by partner_id, period
