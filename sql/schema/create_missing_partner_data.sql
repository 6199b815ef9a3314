-- Partners in reference with no rows in a feed that was delivered for the month.
-- Key: month, feed, partner_id; kept unique by how rows are written
-- (DuckLake has no PRIMARY KEY).
create table if not exists missing_partner_data (
    month varchar not null,
    feed varchar not null,
    partner_id varchar not null
)
