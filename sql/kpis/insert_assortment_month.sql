-- SKU changes of a month against the month before, per partner, country and segment.
-- SKU identity is (country, segment, sku). A partner is compared only when it has
-- windows_share rows in both months (otherwise every SKU would look new or gone).
-- Wins count by their units this month, losses and discontinued SKUs by last month's:
-- each side starts from its few Windows SKUs at or above the minimum and looks the SKU
-- up in the other month, rather than pairing every SKU of both months (a 10M-row month
-- has millions of SKUs and a few hundred that can count).
insert into assortment
with comparable as (
    select distinct partner_id from windows_share
    where month = $month
    intersect
    select distinct partner_id from windows_share
    where month = $prior_month
),

windows_now as (
    select
        partner_id,
        country,
        segment,
        sku,
        os_family,
        units
    from windows_share
    where
        month = $month and os_family = 'windows' and units >= $min_units
        and partner_id in (select partner_id from comparable)
),

windows_before as (
    select
        partner_id,
        country,
        segment,
        sku,
        os_family,
        units
    from windows_share
    where
        month = $prior_month and os_family = 'windows' and units >= $min_units
        and partner_id in (select partner_id from comparable)
),

-- The same SKUs in the other month: a semi join keeps the hash table to the few
-- candidates and streams the month past it.
now_before as (
    select
        partner_id,
        country,
        segment,
        sku,
        os_family,
        units
    from windows_share
    semi join windows_now using (partner_id, country, segment, sku)
    where month = $prior_month
),

before_now as (
    select
        partner_id,
        country,
        segment,
        sku,
        os_family,
        units
    from windows_share
    semi join windows_before using (partner_id, country, segment, sku)
    where month = $month
),

wins as (
    select
        w.partner_id,
        w.country,
        w.segment,
        w.sku,
        p.os_family as from_os,
        w.os_family as to_os,
        w.units,
        p.units as prior_units,
        case when p.os_family is null then 'new' else 'converted' end as reason
    from windows_now as w
    left join now_before as p using (partner_id, country, segment, sku)
    where p.os_family is distinct from 'windows'
),

losses as (
    select
        w.partner_id,
        w.country,
        w.segment,
        w.sku,
        w.os_family as from_os,
        c.os_family as to_os,
        c.units,
        w.units as prior_units,
        case when c.os_family is null then 'discontinued' else 'competitive' end as reason
    from windows_before as w
    left join before_now as c using (partner_id, country, segment, sku)
    where c.os_family is distinct from 'windows'
),

changes as (
    select * from wins
    union all
    select * from losses
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
from changes
order by partner_id, country, segment, reason, sku
