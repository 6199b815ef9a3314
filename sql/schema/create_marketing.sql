-- Co-marketing activities, each as of the delivery's month (SPEC section 9).
create table if not exists marketing (
    month varchar not null,
    partner_id varchar not null,
    activity_id varchar not null,
    activity varchar not null,
    kind varchar not null,
    country varchar,                -- empty: all the partner's countries
    fiscal_quarter varchar not null,
    budget_usd double not null,
    spent_usd double not null,
    status varchar not null,
    poe_status varchar not null,
    end_date date
)
