-- Cross-feed reconciliation warnings (SPEC section 3 step 4): the partner x country x
-- segment groups where two feeds disagree by more than the tolerance.
create table if not exists reconciliation (
    month varchar not null,
    partner_id varchar not null,
    country varchar not null,
    segment varchar not null,
    check_name varchar not null,
    left_feed varchar not null,
    left_units bigint not null,
    right_feed varchar not null,
    right_units bigint not null,
    difference double not null      -- |left - right| / greater of the two
)
