-- Assortment changes of a month by reason.
select
    reason,
    count(*) as changes
from assortment
where month = $month
group by reason
