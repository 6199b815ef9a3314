-- Additive sums per partner, country, segment and month: every KPI is a ratio of
-- these sums (or a sum) at whatever scope it is reported, never an average of ratios.
-- A measure is NULL when its feed has no rows for the group (unknown, not zero).
-- Key: month, partner_id, country, segment; kept unique by how rows are written
-- (DuckLake has no PRIMARY KEY).
create table if not exists kpi_sums (
    month varchar not null,
    partner_id varchar not null,
    country varchar not null,
    segment varchar not null,
    shipped_units bigint,           -- pc_shipments, form_factor != server
    server_units bigint,            -- pc_shipments, form_factor = server
    fc_shipped_units bigint,        -- non-server shipped units on rows with a forecast
    fc_forecast_units bigint,       -- non-server forecast units on those rows
    windows_units bigint,           -- windows_share, os_family = windows
    ws_units bigint,                -- windows_share, all units
    pro_units bigint,               -- premium_mix, edition in (pro, pro_workstation)
    premium_units bigint,           -- premium_mix, price_band = premium
    pm_units bigint,                -- premium_mix, all units
    license_revenue_usd double,
    office_attached_units bigint,
    office_base_units bigint,
    office_sell_thru_units bigint,  -- NULL when no row reported sell-thru
    server_attached_units bigint,
    server_base_units bigint,
    server_sell_thru_units bigint
)
