-- Rows and partners in force for one feed-month.
select
    count(*) as row_count,
    count(distinct partner_id) as partner_count
from {feed}
where month = $month
