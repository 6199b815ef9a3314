-- Every partner's units by OS family per month over a window of months: the Windows
-- share chart by OS family of the competitive watch.
select
    partner_id,
    month,
    os_family,
    sum(units) as units
from windows_share
where month between $first and $last
group by partner_id, month, os_family
order by partner_id, month, os_family
