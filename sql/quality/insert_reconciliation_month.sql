-- Compare the feeds per partner x country x segment; keep what differs beyond $tolerance.
-- A comparison is made only for partners with rows in both feeds this month (a feed or
-- partner that is missing altogether is reported as such, not as thousands of mismatches).
insert into reconciliation
with sums as (
    select * from kpi_sums
    where month = $month
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

comparisons as (
    select
        partner_id,
        country,
        segment,
        'shipments_vs_windows_share' as check_name,
        'pc_shipments' as left_feed,
        coalesce(shipped_units, 0) as left_units,
        'windows_share' as right_feed,
        coalesce(ws_units, 0) as right_units
    from sums
    union all
    select
        partner_id,
        country,
        segment,
        'windows_share_vs_premium_mix',
        'windows_share',
        coalesce(windows_units, 0),
        'premium_mix',
        coalesce(pm_units, 0)
    from sums
    union all
    select
        partner_id,
        country,
        segment,
        'windows_vs_office_base',
        'windows_share',
        coalesce(windows_units, 0),
        'attach_rate',
        coalesce(office_base_units, 0)
    from sums
    union all
    select
        partner_id,
        country,
        segment,
        'server_vs_windows_server_base',
        'pc_shipments',
        coalesce(server_units, 0),
        'attach_rate',
        coalesce(server_base_units, 0)
    from sums
),

compared as (
    select
        c.*,
        abs(c.left_units - c.right_units) / nullif(greatest(c.left_units, c.right_units), 0)
            as difference
    from comparisons as c
    semi join present as l on c.left_feed = l.feed and c.partner_id = l.partner_id
    semi join present as r on c.right_feed = r.feed and c.partner_id = r.partner_id
)

select
    $month as month,
    partner_id,
    country,
    segment,
    check_name,
    left_feed,
    left_units,
    right_feed,
    right_units,
    difference
from compared
where difference > $tolerance
order by partner_id, check_name, country, segment
