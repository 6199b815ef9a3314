-- All partners together by country and by segment: the sums behind units and Windows
-- share this month, last month and a year ago. Both tables are built from the same
-- (country, segment) cells, each measure only from cells where at least $min_partners
-- partners have some of it (units: shipped units above zero; Windows share: Windows
-- share units above zero), so that no single partner's figures can be read off a
-- "market" figure, a sum of the groups shown, or the difference between the two
-- tables' totals. (A country left out of the country table used to stay in the segment
-- table, and the difference of their totals was that country; a partner with rows but
-- no units there, such as one shipping only servers, counted as a third partner.) A
-- compared month is left blank for a group unless each of its cells had enough partners
-- then too (a like-for-like change).
with base as (
    select * from kpi_sums
    where month in ($month, $prior_month, $prior_year_month)
),

cells as (
    select
        country,
        segment,
        sum(shipped_units) filter (where month = $month) as units,
        sum(shipped_units) filter (where month = $prior_month) as prior_units,
        sum(shipped_units) filter (where month = $prior_year_month) as prior_year_units,
        sum(windows_units) filter (where month = $month) as windows_units,
        sum(ws_units) filter (where month = $month) as ws_units,
        sum(windows_units) filter (where month = $prior_month) as prior_windows_units,
        sum(ws_units) filter (where month = $prior_month) as prior_ws_units,
        count(distinct partner_id) filter (
            where month = $month and shipped_units > 0
        ) as unit_partners,
        count(distinct partner_id) filter (
            where month = $prior_month and shipped_units > 0
        ) as prior_unit_partners,
        count(distinct partner_id) filter (
            where month = $prior_year_month and shipped_units > 0
        ) as prior_year_unit_partners,
        count(distinct partner_id) filter (where month = $month and ws_units > 0) as ws_partners,
        count(distinct partner_id) filter (
            where month = $prior_month and ws_units > 0
        ) as prior_ws_partners
    from base
    group by country, segment
),

grouped as (
    select
        case when grouping(country) = 0 then 'country' else 'segment' end as scope,
        coalesce(country, segment) as code,
        sum(units) filter (where unit_partners >= $min_partners) as units,
        sum(prior_units) filter (where unit_partners >= $min_partners) as prior_units,
        sum(prior_year_units) filter (where unit_partners >= $min_partners) as prior_year_units,
        sum(windows_units) filter (where ws_partners >= $min_partners) as windows_units,
        sum(ws_units) filter (where ws_partners >= $min_partners) as ws_units,
        sum(prior_windows_units) filter (
            where ws_partners >= $min_partners
        ) as prior_windows_units,
        sum(prior_ws_units) filter (where ws_partners >= $min_partners) as prior_ws_units,
        bool_and(prior_unit_partners >= $min_partners) filter (
            where unit_partners >= $min_partners
        ) as prior_units_shown,
        bool_and(prior_year_unit_partners >= $min_partners) filter (
            where unit_partners >= $min_partners
        ) as prior_year_units_shown,
        bool_and(prior_ws_partners >= $min_partners) filter (
            where ws_partners >= $min_partners
        ) as prior_ws_shown
    from cells
    where unit_partners >= $min_partners or ws_partners >= $min_partners
    group by grouping sets ((country), (segment))
)

select
    scope,
    code,
    units,
    case when prior_units_shown then prior_units end as prior_units,
    case when prior_year_units_shown then prior_year_units end as prior_year_units,
    windows_units,
    ws_units,
    case when prior_ws_shown then prior_windows_units end as prior_windows_units,
    case when prior_ws_shown then prior_ws_units end as prior_ws_units
from grouped
order by scope asc, units desc nulls last, code asc
