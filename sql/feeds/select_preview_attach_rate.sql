-- Per-partner totals of one month of attach_rate, for the Dagster UI preview.
select
    partner_id,
    count(*) as row_count,
    count(distinct country) as countries,
    round(
        sum(attached_units) filter (where product = 'office')
        / nullif(sum(base_units) filter (where product = 'office'), 0), 4
    ) as office_attach,
    round(
        sum(attached_units) filter (where product = 'windows_server')
        / nullif(sum(base_units) filter (where product = 'windows_server'), 0), 4
    ) as server_attach
from attach_rate
where month = $month
group by partner_id
order by partner_id
