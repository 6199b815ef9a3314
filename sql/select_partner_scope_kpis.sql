-- One partner's KPIs for a month by country and by segment (value and MoM change).
select scope, coalesce(country, segment) as code, kpi, value, mom_change
from kpi_values
where month = $month and partner_id = $partner_id and scope in ('country', 'segment')
order by scope, code, kpi
