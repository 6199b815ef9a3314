-- Each feed's state for a month, as the report's data-quality section shows it.
-- Key: month, feed; kept unique by how rows are written
-- (DuckLake has no PRIMARY KEY).
create table if not exists feed_status (
    month varchar not null,
    feed varchar not null,
    status varchar not null,        -- loaded | rejected | missing | late
    rows_in_force bigint not null,  -- rows the KPIs use (an earlier good delivery stays in force)
    partners bigint not null,
    problems bigint not null,
    checks_failed integer not null,
    delivered_at timestamp,
    checked_at timestamp,
    quarantine varchar
)
