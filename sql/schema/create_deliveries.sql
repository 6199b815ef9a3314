-- Every delivery checked, keyed by its fingerprint (file names, sizes, times):
-- re-checking the same delivery replaces its row instead of adding one.
-- Key: feed, month, fingerprint; kept unique by how rows are written
-- (DuckLake has no PRIMARY KEY).
create table if not exists deliveries (
    feed varchar not null,
    month varchar not null,
    fingerprint varchar not null,
    status varchar not null,            -- loaded | rejected
    files varchar not null,             -- JSON list of file names
    delivered_at timestamp,             -- newest file modification time
    checked_at timestamp not null,
    rows bigint not null,               -- rows in the delivery as parsed
    problems bigint not null,           -- problems found (0 when loaded)
    checks_failed integer not null,     -- failed contract/suite checks
    warnings varchar not null,          -- JSON list of warning sentences
    quarantine varchar                  -- quarantine folder when rejected
)
