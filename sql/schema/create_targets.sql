-- Quarterly targets from reference/targets.csv, refreshed before KPIs are computed.
-- Key: partner_id, fiscal_quarter, kpi; kept unique by how rows are written
-- (DuckLake has no PRIMARY KEY).
create table if not exists targets (
    partner_id varchar not null,
    fiscal_quarter varchar not null,
    kpi varchar not null,
    target double not null
)
