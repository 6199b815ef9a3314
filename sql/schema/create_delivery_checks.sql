-- Result of each check (contract and suite expectation) of the latest check of a delivery.
-- Key: feed, month, fingerprint, check_name; kept unique by how rows are written
-- (DuckLake has no PRIMARY KEY).
create table if not exists delivery_checks (
    feed varchar not null,
    month varchar not null,
    fingerprint varchar not null,
    check_name varchar not null,
    passed boolean not null,
    unexpected_count bigint,
    detail varchar
)
