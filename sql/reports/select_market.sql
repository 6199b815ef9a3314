-- All partners together by country and by segment: units this month, last month and a
-- year ago, and Windows share. Groups with fewer than $min_partners partners are left
-- out, so that no single partner's figures can be read off a "market" total.
with base as (
    select * from kpi_sums
    where month in ($month, $prior_month, $prior_year_month)
),

grouped as (
    select
        case when grouping(country) = 0 then 'country' else 'segment' end as scope,
        coalesce(country, segment) as code,
        sum(shipped_units) filter (where month = $month) as units,
        sum(shipped_units) filter (where month = $prior_month) as prior_units,
        sum(shipped_units) filter (where month = $prior_year_month) as prior_year_units,
        sum(windows_units) filter (where month = $month)
        / nullif(sum(ws_units) filter (where month = $month), 0) as windows_share,
        sum(windows_units) filter (where month = $prior_month)
        / nullif(sum(ws_units) filter (where month = $prior_month), 0) as prior_windows_share,
        count(distinct partner_id) filter (where month = $month) as partners
    from base
    group by grouping sets ((country), (segment))
)

select
    scope,
    code,
    units,
    (units - prior_units) / nullif(prior_units, 0) as mom_change,
    (units - prior_year_units) / nullif(prior_year_units, 0) as yoy_change,
    windows_share,
    windows_share - prior_windows_share as windows_share_change
from grouped
where partners >= $min_partners
order by scope asc, units desc nulls last, code asc
