-- Assortment wins and losses of a month against the month before (SPEC section 4).
create table if not exists assortment (
    month varchar not null,
    partner_id varchar not null,
    country varchar not null,
    segment varchar not null,
    sku varchar not null,
    type varchar not null,          -- win | loss | discontinued
    reason varchar not null,        -- converted | new | competitive | discontinued
    from_os varchar,                -- os_family in the month before (NULL when new)
    to_os varchar,                  -- os_family this month (NULL when discontinued)
    units bigint,                   -- units this month (NULL when discontinued)
    prior_units bigint              -- units the month before (NULL when new)
)
