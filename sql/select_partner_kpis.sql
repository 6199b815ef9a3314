-- One partner's KPIs for a month at partner scope, with every comparison.
select kpi, value, prior_month, prior_year, mom_change, yoy_change, qtd, target
from kpi_values
where month = $month and partner_id = $partner_id and scope = 'partner'
