-- SKU changes of a month against the month before, per partner, country and segment.
-- SKU identity is (country, segment, sku). A partner is compared only when it has
-- windows_share rows in both months (otherwise every SKU would look new or gone).
-- Wins count by their units this month, losses and discontinued SKUs by last month's.
insert into assortment
with current_month as (
    select partner_id, country, segment, sku, os_family, units
    from windows_share
    where month = $month
),

prior_month as (
    select partner_id, country, segment, sku, os_family, units
    from windows_share
    where month = $prior_month
),

comparable as (
    select distinct partner_id from current_month
    intersect
    select distinct partner_id from prior_month
),

paired as (
    select
        coalesce(c.partner_id, p.partner_id) as partner_id,
        coalesce(c.country, p.country) as country,
        coalesce(c.segment, p.segment) as segment,
        coalesce(c.sku, p.sku) as sku,
        p.os_family as from_os,
        c.os_family as to_os,
        c.units,
        p.units as prior_units
    from current_month as c
    full outer join prior_month as p
        on c.partner_id = p.partner_id
        and c.country = p.country
        and c.segment = p.segment
        and c.sku = p.sku
),

classified as (
    select
        *,
        case
            when from_os != 'windows' and to_os = 'windows' then 'converted'
            when from_os is null and to_os = 'windows' then 'new'
            when from_os = 'windows' and to_os != 'windows' then 'competitive'
            when from_os = 'windows' and to_os is null then 'discontinued'
        end as reason
    from paired
    where partner_id in (select partner_id from comparable)
)

select
    $month as month,
    partner_id,
    country,
    segment,
    sku,
    case reason
        when 'converted' then 'win'
        when 'new' then 'win'
        when 'competitive' then 'loss'
        else 'discontinued'
    end as type,
    reason,
    from_os,
    to_os,
    units,
    prior_units
from classified
where
    (reason in ('converted', 'new') and units >= $min_units)
    or (reason in ('competitive', 'discontinued') and prior_units >= $min_units)
order by partner_id, country, segment, reason, sku
