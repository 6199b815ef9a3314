-- The additive sums of one month from the four feed tables, per partner, country, segment.
insert into kpi_sums
with shipments as (
    select
        partner_id,
        country,
        segment,
        coalesce(sum(shipped_units) filter (where form_factor != 'server'), 0) as shipped_units,
        coalesce(sum(shipped_units) filter (where form_factor = 'server'), 0) as server_units,
        sum(shipped_units) filter (
            where form_factor != 'server' and forecast_units is not null
        ) as fc_shipped_units,
        sum(forecast_units) filter (where form_factor != 'server') as fc_forecast_units
    from pc_shipments
    where month = $month
    group by partner_id, country, segment
),

share as (
    select
        partner_id,
        country,
        segment,
        coalesce(sum(units) filter (where os_family = 'windows'), 0) as windows_units,
        sum(units) as ws_units
    from windows_share
    where month = $month
    group by partner_id, country, segment
),

mix as (
    select
        partner_id,
        country,
        segment,
        coalesce(sum(units) filter (where edition in ('pro', 'pro_workstation')), 0) as pro_units,
        coalesce(sum(units) filter (where price_band = 'premium'), 0) as premium_units,
        sum(units) as pm_units,
        -- Money is summed as DECIMAL(38, 12), exactly: the same rows give the same total
        -- in any order. A DOUBLE sum depends on the order DuckDB's threads add the rows
        -- in, so a re-run could change a figure's last digit and re-send a PAM's update.
        -- A row holds at most 15 digits of dollars (typing_rules), so a month's sum fits.
        sum(license_revenue_usd::decimal(38, 12))::double as license_revenue_usd
    from premium_mix
    where month = $month
    group by partner_id, country, segment
),

attach as (
    select
        partner_id,
        country,
        segment,
        sum(attached_units) filter (where product = 'office') as office_attached_units,
        sum(base_units) filter (where product = 'office') as office_base_units,
        sum(sell_thru_units) filter (where product = 'office') as office_sell_thru_units,
        sum(attached_units) filter (where product = 'windows_server') as server_attached_units,
        sum(base_units) filter (where product = 'windows_server') as server_base_units,
        sum(sell_thru_units) filter (where product = 'windows_server') as server_sell_thru_units
    from attach_rate
    where month = $month
    group by partner_id, country, segment
),

groups as (
    select
        partner_id,
        country,
        segment
    from shipments
    union
    select
        partner_id,
        country,
        segment
    from share
    union
    select
        partner_id,
        country,
        segment
    from mix
    union
    select
        partner_id,
        country,
        segment
    from attach
)

select
    $month as month,
    g.partner_id,
    g.country,
    g.segment,
    s.shipped_units,
    s.server_units,
    s.fc_shipped_units,
    s.fc_forecast_units,
    w.windows_units,
    w.ws_units,
    m.pro_units,
    m.premium_units,
    m.pm_units,
    m.license_revenue_usd,
    a.office_attached_units,
    a.office_base_units,
    a.office_sell_thru_units,
    a.server_attached_units,
    a.server_base_units,
    a.server_sell_thru_units
from groups as g
left join shipments as s using (partner_id, country, segment)
left join share as w using (partner_id, country, segment)
left join mix as m using (partner_id, country, segment)
left join attach as a using (partner_id, country, segment)
