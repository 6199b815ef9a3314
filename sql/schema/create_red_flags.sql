-- Red flags and escalations of a month per partner (SPEC section 4, stable rule ids).
create table if not exists red_flags (
    month varchar not null,
    partner_id varchar not null,
    rule varchar not null,
    severity varchar not null,      -- high | medium
    scope varchar not null,         -- partner | <country code>
    kpi varchar,
    value double,
    threshold double,
    message varchar not null,
    segment varchar,
    sku varchar,
    feed varchar
)
