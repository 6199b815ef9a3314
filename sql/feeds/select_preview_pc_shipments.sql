-- Per-partner totals of one month of pc_shipments, for the Dagster UI preview.
select
    partner_id,
    count(*) as row_count,
    count(distinct country) as countries,
    sum(shipped_units) filter (where form_factor != 'server') as pc_units,
    sum(shipped_units) filter (where form_factor = 'server') as server_units,
    sum(forecast_units) as forecast_units
from pc_shipments
where month = $month
group by partner_id
order by partner_id
