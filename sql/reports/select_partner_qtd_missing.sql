-- Every partner's KPIs whose quarter to date misses a month: the months of the fiscal
-- quarter so far in which the KPI has no value for the partner (a feed not delivered,
-- rejected with nothing in force, or a month never run). The QTD sum leaves those months
-- out, so neither the report nor the target-gap flag judges it against the quarter's
-- target (kpis/insert_red_flags_month.sql takes these pairs as parameters).
with keys as (
    select distinct
        partner_id,
        kpi
    from kpi_values
    where month = $month and scope = 'partner'
),

quarter as (
    select unnest($qtd_months::varchar[]) as month
),

present as (
    select
        partner_id,
        kpi,
        month
    from kpi_values
    where
        scope = 'partner' and value is not null
        and list_contains($qtd_months::varchar[], month)
)

select
    k.partner_id,
    k.kpi,
    list(q.month order by q.month) as months
from keys as k
cross join quarter as q
anti join present as p on k.partner_id = p.partner_id and k.kpi = p.kpi and q.month = p.month
group by k.partner_id, k.kpi
order by k.partner_id, k.kpi
