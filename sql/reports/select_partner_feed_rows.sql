-- Each partner's own rows in force in each feed for a month (a delivery holds every partner's).
select
    partner_id,
    'attach_rate' as feed,
    count(*) as row_count
from attach_rate
where month = $month
group by partner_id
union all
select
    partner_id,
    'marketing' as feed,
    count(*) as row_count
from marketing
where month = $month
group by partner_id
union all
select
    partner_id,
    'pc_shipments' as feed,
    count(*) as row_count
from pc_shipments
where month = $month
group by partner_id
union all
select
    partner_id,
    'premium_mix' as feed,
    count(*) as row_count
from premium_mix
where month = $month
group by partner_id
union all
select
    partner_id,
    'windows_share' as feed,
    count(*) as row_count
from windows_share
where month = $month
group by partner_id
order by partner_id, feed
