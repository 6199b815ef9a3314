-- Every partner's KPIs for a month at partner scope, with every comparison
-- (one query per month; the report takes each partner's own rows).
select
    partner_id,
    kpi,
    value,
    prior_month,
    prior_year,
    mom_change,
    yoy_change,
    qtd,
    target
from kpi_values
where month = $month and scope = 'partner'
order by partner_id
