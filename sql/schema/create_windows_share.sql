-- One row per SKU offered in a partner, country and segment, with its OS.
create table if not exists windows_share (
    month varchar not null,
    partner_id varchar not null,
    country varchar not null,
    segment varchar not null,
    sku varchar not null,
    os_family varchar not null,
    units bigint not null
)
