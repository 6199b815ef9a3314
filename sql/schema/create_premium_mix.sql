-- Windows units and licence revenue by edition and price band.
create table if not exists premium_mix (
    month varchar not null,
    partner_id varchar not null,
    country varchar not null,
    segment varchar not null,
    edition varchar not null,
    price_band varchar not null,
    units bigint not null,
    license_revenue_usd double not null
)
