-- Partners in reference with no rows in a feed that was delivered for the month.
create table if not exists missing_partner_data (
    month varchar not null,
    feed varchar not null,
    partner_id varchar not null,
    primary key (month, feed, partner_id)
)
