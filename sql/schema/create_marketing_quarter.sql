-- The marketing activities that count for a month (SPEC section 9): per partner, the rows
-- of its latest marketing delivery up to the month within the month's fiscal quarter
-- (as_of), only those of that quarter. Cancelled activities are kept (the report lists
-- them); totals leave them out. Key: month, partner_id, activity_id; kept unique by
-- replacing a month whole (DuckLake has no PRIMARY KEY).
create table if not exists marketing_quarter (
    month varchar not null,
    partner_id varchar not null,
    fiscal_quarter varchar not null,
    as_of varchar not null,
    activity_id varchar not null,
    activity varchar not null,
    kind varchar not null,
    country varchar,
    budget_usd double not null,
    spent_usd double not null,
    status varchar not null,
    poe_status varchar not null,
    end_date date
)
