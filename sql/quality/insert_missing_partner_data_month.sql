-- Partners of reference/partners.csv that have no rows in a feed that has data this month.
insert into missing_partner_data
with partners as (
    select unnest($partner_ids) as partner_id
),

present as (
    select distinct
        'pc_shipments' as feed,
        partner_id
    from pc_shipments
    where month = $month
    union all
    select distinct
        'windows_share',
        partner_id
    from windows_share
    where month = $month
    union all
    select distinct
        'premium_mix',
        partner_id
    from premium_mix
    where month = $month
    union all
    select distinct
        'attach_rate',
        partner_id
    from attach_rate
    where month = $month
),

delivered as (
    select distinct feed from present
)

select
    $month as month,
    d.feed,
    p.partner_id
from delivered as d
cross join partners as p
anti join present as x on d.feed = x.feed and p.partner_id = x.partner_id
order by d.feed, p.partner_id
