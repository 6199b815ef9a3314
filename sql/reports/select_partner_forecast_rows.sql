-- Every partner's shipments against forecast by country and segment for a month.
select
    partner_id,
    country,
    segment,
    shipped_units,
    fc_shipped_units as forecast_shipped_units,
    fc_forecast_units as forecast_units,
    fc_shipped_units / nullif(fc_forecast_units, 0) as attainment
from kpi_sums
where month = $month
order by partner_id asc, shipped_units desc nulls last, country asc, segment asc
