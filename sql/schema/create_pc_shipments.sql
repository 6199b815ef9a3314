-- One row per partner, country, segment and form factor of a month (SPEC section 3).
create table if not exists pc_shipments (
    month varchar not null,
    partner_id varchar not null,
    country varchar not null,
    segment varchar not null,
    form_factor varchar not null,
    shipped_units bigint not null,
    forecast_units bigint
)
