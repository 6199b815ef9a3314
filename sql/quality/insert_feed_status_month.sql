-- The state of each feed for a month: its latest delivery's outcome, or missing / late
-- when nothing was delivered ($late: the due day of the following month has passed);
-- an optional feed ($optional) with nothing delivered is not_delivered, never late.
insert into feed_status
with feeds as (
    select unnest($feeds) as feed
),

latest as (
    select *
    from deliveries
    where month = $month
    qualify row_number() over (partition by feed order by checked_at desc) = 1
),

in_force as (
    select
        'pc_shipments' as feed,
        count(*) as rows_in_force,
        count(distinct partner_id) as partners
    from pc_shipments
    where month = $month
    union all
    select
        'windows_share',
        count(*),
        count(distinct partner_id)
    from windows_share
    where month = $month
    union all
    select
        'premium_mix',
        count(*),
        count(distinct partner_id)
    from premium_mix
    where month = $month
    union all
    select
        'attach_rate',
        count(*),
        count(distinct partner_id)
    from attach_rate
    where month = $month
    union all
    select
        'marketing',
        count(*),
        count(distinct partner_id)
    from marketing
    where month = $month
)

select
    $month as month,
    f.feed,
    case
        when l.status is not null then l.status
        when i.rows_in_force > 0 then 'loaded'
        when list_contains($optional, f.feed) then 'not_delivered'
        when $late then 'late'
        else 'missing'
    end as status,
    coalesce(i.rows_in_force, 0) as rows_in_force,
    coalesce(i.partners, 0) as partners,
    coalesce(l.problems, 0) as problems,
    coalesce(l.checks_failed, 0) as checks_failed,
    l.delivered_at,
    l.checked_at,
    l.quarantine
from feeds as f
left join latest as l using (feed)
left join in_force as i using (feed)
order by f.feed
