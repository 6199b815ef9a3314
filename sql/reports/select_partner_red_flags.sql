-- Every partner's red flags for a month, most severe first.
select
    partner_id,
    rule,
    severity,
    scope,
    kpi,
    value,
    threshold,
    message,
    segment,
    sku,
    feed
from red_flags
where month = $month
order by partner_id, case severity when 'high' then 0 else 1 end, rule, scope, message
