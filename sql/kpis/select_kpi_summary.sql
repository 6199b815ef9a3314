-- Headline KPIs of every partner for one month, for the Dagster UI.
select
    partner_id,
    max(value) filter (where kpi = 'shipped_units') as shipped_units,
    max(value) filter (where kpi = 'forecast_attainment') as forecast_attainment,
    max(value) filter (where kpi = 'windows_share') as windows_share,
    max(value) filter (where kpi = 'pro_mix') as pro_mix,
    max(value) filter (where kpi = 'premium_mix') as premium_mix,
    max(value) filter (where kpi = 'license_revenue_usd') as license_revenue_usd,
    max(value) filter (where kpi = 'office_attach') as office_attach
from kpi_values
where month = $month and scope = 'partner'
group by partner_id
order by partner_id
