-- Where each partner's month-on-month changes came from, per country x segment.
-- Share-type KPIs decompose exactly: with S0 the partner's ratio last month, a group's
-- contribution is (n1 - S0*d1)/D1 - (n0 - S0*d0)/D0, and the contributions add up to S1 - S0.
with cur as (
    select * from kpi_sums
    where month = $month
),

prev as (
    select * from kpi_sums
    where month = $prior_month
),

pairs as (
    select
        coalesce(c.partner_id, p.partner_id) as partner_id,
        coalesce(c.country, p.country) as country,
        coalesce(c.segment, p.segment) as segment,
        coalesce(c.shipped_units, 0) as units_1,
        coalesce(p.shipped_units, 0) as units_0,
        coalesce(c.windows_units, 0) as win_1,
        coalesce(c.ws_units, 0) as ws_1,
        coalesce(p.windows_units, 0) as win_0,
        coalesce(p.ws_units, 0) as ws_0,
        coalesce(c.office_attached_units, 0) as att_1,
        coalesce(c.office_base_units, 0) as base_1,
        coalesce(p.office_attached_units, 0) as att_0,
        coalesce(p.office_base_units, 0) as base_0
    from cur as c
    full outer join prev as p
        on c.partner_id = p.partner_id and c.country = p.country and c.segment = p.segment
),

totals as (
    select
        partner_id,
        sum(win_0) / nullif(sum(ws_0), 0) as share_0,
        sum(ws_0) as ws_total_0,
        sum(ws_1) as ws_total_1,
        sum(att_0) / nullif(sum(base_0), 0) as attach_0,
        sum(base_0) as base_total_0,
        sum(base_1) as base_total_1
    from pairs
    group by partner_id
)

select
    p.partner_id,
    p.country,
    p.segment,
    p.units_1 - p.units_0 as units_change,
    (p.win_1 - t.share_0 * p.ws_1) / nullif(t.ws_total_1, 0)
    - (p.win_0 - t.share_0 * p.ws_0) / nullif(t.ws_total_0, 0) as windows_share_contribution,
    (p.att_1 - t.attach_0 * p.base_1) / nullif(t.base_total_1, 0)
    - (p.att_0 - t.attach_0 * p.base_0) / nullif(t.base_total_0, 0) as office_attach_contribution
from pairs as p
inner join totals as t on p.partner_id = t.partner_id
order by p.partner_id, p.country, p.segment
