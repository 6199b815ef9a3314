-- One partner's red flags for a month, most severe first.
select rule, severity, scope, kpi, value, threshold, message
from red_flags
where month = $month and partner_id = $partner_id
order by case severity when 'high' then 0 else 1 end, rule, scope, message
