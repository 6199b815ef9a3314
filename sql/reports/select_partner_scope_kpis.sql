-- Every partner's KPIs for a month by country and by segment (value and MoM change).
select
    partner_id,
    scope,
    coalesce(country, segment) as code,
    kpi,
    value,
    mom_change
from kpi_values
where month = $month and scope in ('country', 'segment')
order by partner_id, scope, code, kpi
