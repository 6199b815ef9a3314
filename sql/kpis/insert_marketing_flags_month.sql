-- The marketing red flags of one month (SPEC section 9), from marketing_quarter:
-- marketing_underspend in the quarter's last month ($quarter_closes) when the quarter's
-- spent share (cancelled activities left out) is below $min_spent_share, high below
-- $high_spent_share; poe_missing for a done activity whose end_date is more than
-- $poe_days days before $month_end without approved proof of execution, high beyond
-- $poe_high_days; scoped to the activity's country, or the partner for all countries.
insert into red_flags by name
with partners as (
    select unnest($partner_ids) as partner_id
),

quarter_totals as (
    select
        partner_id,
        any_value(fiscal_quarter) as fiscal_quarter,
        -- Money summed exactly, in any order (see insert_kpi_sums_month.sql).
        sum(spent_usd::decimal(38, 12)) filter (where status != 'cancelled')::double
        / nullif(sum(budget_usd::decimal(38, 12)) filter (where status != 'cancelled'), 0)::double
            as spent_share
    from marketing_quarter
    where month = $month
    group by partner_id
),

underspend as (
    select
        partner_id,
        'marketing_underspend' as rule,
        case when spent_share < $high_spent_share then 'high' else 'medium' end as severity,
        'partner' as scope,
        null as kpi,
        spent_share as value,
        $min_spent_share as threshold,
        printf(
            '%s closes with %.0f %% of the co-marketing budget spent (the flag is raised '
            || 'below %.0f %%).',
            fiscal_quarter, spent_share * 100, $min_spent_share * 100
        ) as message,
        null as segment,
        null as sku,
        'marketing' as feed
    from quarter_totals
    where $quarter_closes and spent_share < $min_spent_share - 1e-9
),

overdue as (
    select
        *,
        date_diff('day', end_date, $month_end::date) as days
    from marketing_quarter
    where
        month = $month and status = 'done' and poe_status != 'approved'
        and end_date is not null
),

poe_missing as (
    select
        partner_id,
        'poe_missing' as rule,
        case when days > $poe_high_days then 'high' else 'medium' end as severity,
        coalesce(country, 'partner') as scope,
        null as kpi,
        days::double as value,
        $poe_days as threshold,
        printf(
            '%s ended %d days before the month''s end and its proof of execution is %s.',
            activity, days,
            case poe_status
                when 'none' then 'not submitted'
                when 'submitted' then 'not approved yet'
                else 'rejected'
            end
        ) as message,
        null as segment,
        activity_id as sku,
        'marketing' as feed
    from overdue
    where days > $poe_days
),

all_flags as (
    select * from underspend
    union all by name
    select * from poe_missing
)

select
    $month as month,
    *
from all_flags
where partner_id in (select partner_id from partners)
order by partner_id, rule, scope, sku
