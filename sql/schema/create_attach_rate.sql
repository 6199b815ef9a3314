-- Office and Windows Server attach per partner, country and segment.
create table if not exists attach_rate (
    month varchar not null,
    partner_id varchar not null,
    country varchar not null,
    segment varchar not null,
    product varchar not null,
    base_units bigint not null,
    attached_units bigint not null,
    sell_thru_units bigint
)
