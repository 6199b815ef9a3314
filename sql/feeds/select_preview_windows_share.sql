-- Per-partner totals of one month of windows_share, for the Dagster UI preview.
select
    partner_id,
    count(*) as row_count,
    count(distinct country) as countries,
    sum(units) as units,
    sum(units) filter (where os_family = 'windows') as windows_units,
    round(sum(units) filter (where os_family = 'windows') / nullif(sum(units), 0), 4)
        as windows_share
from windows_share
where month = $month
group by partner_id
order by partner_id
