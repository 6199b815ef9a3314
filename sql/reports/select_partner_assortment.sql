-- Every partner's assortment wins, losses and discontinued SKUs for a month.
select
    partner_id,
    type,
    reason,
    country,
    segment,
    sku,
    from_os,
    to_os,
    units,
    prior_units
from assortment
where month = $month
order by
    partner_id asc,
    case type when 'loss' then 0 when 'win' then 1 else 2 end,
    coalesce(prior_units, units) desc,
    country, segment asc, sku asc
