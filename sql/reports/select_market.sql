-- All partners together by country and by segment: the sums behind units and Windows
-- share this month, last month and a year ago. Groups with fewer than $min_partners
-- partners this month are left out, and a compared month with fewer is left blank, so
-- that no single partner's figures can be read off a "market" total (nor off a sum of
-- the groups shown).
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
        sum(windows_units) filter (where month = $month) as windows_units,
        sum(ws_units) filter (where month = $month) as ws_units,
        sum(windows_units) filter (where month = $prior_month) as prior_windows_units,
        sum(ws_units) filter (where month = $prior_month) as prior_ws_units,
        count(distinct partner_id) filter (where month = $month) as partners,
        count(distinct partner_id) filter (where month = $prior_month) as prior_partners,
        count(distinct partner_id) filter (where month = $prior_year_month) as prior_year_partners
    from base
    group by grouping sets ((country), (segment))
)

-- A month of the comparison with too few partners is left out like a group would be.
select
    scope,
    code,
    units,
    case when prior_partners >= $min_partners then prior_units end as prior_units,
    case when prior_year_partners >= $min_partners then prior_year_units end as prior_year_units,
    windows_units,
    ws_units,
    case when prior_partners >= $min_partners then prior_windows_units end as prior_windows_units,
    case when prior_partners >= $min_partners then prior_ws_units end as prior_ws_units
from grouped
where partners >= $min_partners
order by scope asc, units desc nulls last, code asc
