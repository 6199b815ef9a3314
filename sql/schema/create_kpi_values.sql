-- Every KPI of a month per partner, at partner, country and segment scope, with the
-- prior month, the same month last year, the changes, quarter-to-date and target.
create table if not exists kpi_values (
    month varchar not null,
    partner_id varchar not null,
    scope varchar not null,        -- partner | country | segment
    country varchar,               -- set for scope = country
    segment varchar,               -- set for scope = segment
    kpi varchar not null,
    value double,
    prior_month double,
    prior_year double,
    mom_change double,             -- ratio KPIs: difference (fraction points); volumes: relative
    yoy_change double,
    qtd double,                    -- quarter-to-date: ratio of QTD sums, or QTD sum
    target double                  -- the quarter's target (partner scope only)
)
