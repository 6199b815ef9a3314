-- Every red-flag rule for one month. Thresholds are bound parameters (red_flags.yaml over
-- the built-in defaults). Severity is high when the breach is at least twice the threshold.
-- Drops and gaps compare with a 1e-9 slack so that a change of exactly the threshold
-- counts although its binary floating-point value lands a hair short of it.
insert into red_flags
with kv as (
    select * from kpi_values
    where month = $month
),

labels as (
    select unnest($kpi_labels, recursive := true)
),

qtd_partial as (
    -- KPIs whose quarter to date misses a month (reports/select_partner_qtd_missing.sql).
    select
        unnest($qtd_partial_partners::varchar[]) as partner_id,
        unnest($qtd_partial_kpis::varchar[]) as kpi
),

country_units as (
    select
        partner_id,
        country,
        sum(ws_units) as ws_units
    from kpi_sums
    where month = $month
    group by partner_id, country
),

windows_share_drop as (
    select
        partner_id,
        'windows_share_drop' as rule,
        case when -mom_change >= 2 * $ws_partner_drop - 1e-9 then 'high' else 'medium' end
            as severity,
        'partner' as scope,
        kpi,
        mom_change as value,
        -$ws_partner_drop as threshold,
        printf(
            'Windows share fell %.1f pts month on month to %.1f %%.', -mom_change * 100, value * 100
        )
            as message,
        null as segment,
        null as sku,
        null as feed
    from kv
    where
        scope = 'partner' and kpi = 'windows_share'
        and -mom_change >= $ws_partner_drop - 1e-9
    union all
    select
        kv.partner_id,
        'windows_share_drop',
        case when -kv.mom_change >= 2 * $ws_country_drop - 1e-9 then 'high' else 'medium' end,
        kv.country,
        kv.kpi,
        kv.mom_change,
        -$ws_country_drop,
        printf(
            'Windows share in %s fell %.1f pts month on month to %.1f %% (%s units).',
            kv.country, -kv.mom_change * 100, kv.value * 100, format('{:,}', u.ws_units)
        ),
        null,
        null,
        null
    from kv
    inner join country_units as u on kv.partner_id = u.partner_id and kv.country = u.country
    where
        kv.scope = 'country' and kv.kpi = 'windows_share'
        and u.ws_units >= $ws_country_min_units
        and -kv.mom_change >= $ws_country_drop - 1e-9
),

forecast_cover as (
    -- Units shipped and units shipped with a forecast, per partner and per country:
    -- attainment leaves out the units with no forecast, and the message says so.
    select
        partner_id,
        coalesce(country, 'partner') as scope,
        sum(shipped_units) as shipped,
        sum(shipped_units) - coalesce(sum(fc_shipped_units), 0) as uncovered
    from kpi_sums
    where month = $month
    group by grouping sets ((partner_id), (partner_id, country))
),

attainment_words as (
    -- The attainment and the threshold as the message prints them: the threshold as
    -- given (92.5, not 92), and "just under" it where the attainment would print as the
    -- threshold ("reached 90.0 % of forecast (below 90 %)").
    select
        partner_id,
        scope,
        country,
        value,
        format('{:g}', round($fc_min_attainment * 100, 2)) as below,
        if(
            round(value * 100, 1) >= round($fc_min_attainment * 100, 2),
            'just under ' || format('{:g}', round($fc_min_attainment * 100, 2)),
            printf('%.1f', value * 100)
        ) as reached
    from kv
    where kpi = 'forecast_attainment' and value < $fc_min_attainment
),

forecast_miss as (
    select
        a.partner_id,
        'forecast_miss' as rule,
        case when 1 - a.value >= 2 * (1 - $fc_min_attainment) - 1e-9 then 'high' else 'medium' end
            as severity,
        case when a.scope = 'partner' then 'partner' else a.country end as scope,
        a.kpi,
        a.value,
        $fc_min_attainment as threshold,
        case
            when c.uncovered >= $fc_uncovered_share * c.shipped and c.shipped > 0
                then printf(
                    'Shipments%s with a forecast reached %s %% of it (below %s %%); '
                    || 'of the %s units shipped, %s had no forecast.',
                    if(a.scope = 'partner', '', ' in ' || a.country),
                    w.reached,
                    w.below,
                    format('{:,}', c.shipped::bigint),
                    format('{:,}', c.uncovered::bigint)
                )
            when a.scope = 'partner'
                then
                    printf(
                        'Shipments reached %s %% of forecast (below %s %%).', w.reached, w.below
                    )
            else printf(
                'Shipments in %s reached %s %% of forecast (below %s %%, %s units shipped).',
                a.country, w.reached, w.below, format('{:,}', s.value::bigint)
            )
        end as message,
        null as segment,
        null as sku,
        null as feed
    from kv as a
    left join kv as s
        on
            a.partner_id = s.partner_id and a.scope = s.scope
            and s.country is not distinct from a.country and s.kpi = 'shipped_units'
    left join forecast_cover as c
        on a.partner_id = c.partner_id and c.scope = coalesce(a.country, 'partner')
    inner join attainment_words as w
        on
            a.partner_id = w.partner_id and a.scope = w.scope
            and w.country is not distinct from a.country
    where
        a.kpi = 'forecast_attainment'
        and a.value < $fc_min_attainment
        and (a.scope = 'partner' or (a.scope = 'country' and s.value >= $fc_country_min_units))
),

target_gap as (
    select
        partner_id,
        'target_gap' as rule,
        case when target - qtd >= 2 * $tg_ratio_gap - 1e-9 then 'high' else 'medium' end
            as severity,
        'partner' as scope,
        kpi,
        qtd as value,
        target - $tg_ratio_gap as threshold,
        printf(
            '%s %s %.1f %%, %.1f pts below the %.1f %% target.',
            -- In the quarter's last month the quarter is closed: not "to date".
            l.label, if($elapsed_share >= 1, 'closed the quarter at', 'quarter to date is'),
            qtd * 100, (target - qtd) * 100, target * 100
        ) as message,
        null as segment,
        null as sku,
        null as feed
    from kv
    inner join labels as l using (kpi)
    anti join qtd_partial using (partner_id, kpi)
    where
        scope = 'partner' and target is not null and qtd is not null
        and not list_contains($volume_kpis, kpi)
        and target - qtd >= $tg_ratio_gap - 1e-9
    union all
    select
        partner_id,
        'target_gap',
        case
            when $elapsed_share - qtd / target >= 2 * $tg_volume_gap - 1e-9 then 'high' else
                'medium'
        end,
        'partner',
        kpi,
        qtd / target,
        $elapsed_share - $tg_volume_gap,
        if(
            $elapsed_share >= 1,
            printf('%s closed the quarter at %.1f %% of its target.', l.label, qtd / target * 100),
            printf(
                '%s quarter to date is %.1f %% of the quarter''s target '
                || 'with %.0f %% of the quarter gone.',
                l.label, qtd / target * 100, $elapsed_share * 100
            )
        ),
        null,
        null,
        null
    from kv
    inner join labels as l using (kpi)
    anti join qtd_partial using (partner_id, kpi)
    where
        scope = 'partner' and target > 0 and qtd is not null
        and list_contains($volume_kpis, kpi)
        and qtd / target < $elapsed_share - $tg_volume_gap
),

attach_drop as (
    select
        partner_id,
        'attach_drop' as rule,
        case when -mom_change >= 2 * $attach_drop - 1e-9 then 'high' else 'medium' end as severity,
        'partner' as scope,
        kpi,
        mom_change as value,
        -$attach_drop as threshold,
        printf(
            '%s attach fell %.1f pts month on month to %.1f %%.',
            case kpi when 'office_attach' then 'Office' else 'Windows Server' end,
            -mom_change * 100, value * 100
        ) as message,
        null as segment,
        null as sku,
        null as feed
    from kv
    where
        scope = 'partner' and kpi in ('office_attach', 'server_attach')
        and -mom_change >= $attach_drop - 1e-9
),

competitive_loss as (
    select
        partner_id,
        'competitive_loss' as rule,
        case when prior_units >= 2 * $cl_min_prior_units then 'high' else 'medium' end as severity,
        country as scope,
        'windows_share' as kpi,
        prior_units::double as value,
        $cl_min_prior_units::double as threshold,
        printf(
            'SKU %s (%s %s) moved from Windows to %s; it sold %s units last month.',
            sku, country, segment, to_os, format('{:,}', prior_units)
        ) as message,
        segment,
        sku,
        null as feed
    from assortment
    where month = $month and reason = 'competitive' and prior_units >= $cl_min_prior_units
),

partners as (
    select unnest($partner_ids) as partner_id
),

feed_problems as (
    select
        p.partner_id,
        'data_quality' as rule,
        -- high when the month's KPIs of the feed are unavailable and should not be:
        -- rejected with nothing in force, or late; medium when an earlier delivery
        -- stays in force or the feed is not due yet.
        case
            when f.status = 'late' then 'high'
            when f.status = 'rejected' and f.rows_in_force = 0 then 'high'
            else 'medium'
        end as severity,
        'partner' as scope,
        null as kpi,
        f.problems::double as value,
        null as threshold,
        case f.status
            when 'rejected'
                then
                    printf(
                        'The %s delivery was rejected (%d problem%s); %s.', f.feed, f.problems,
                        case when f.problems = 1 then '' else 's' end,
                        case
                            when f.rows_in_force > 0 then 'an earlier delivery stays in force'
                            else 'its KPIs are unavailable'
                        end
                    )
            when
                'late'
                then printf('The %s feed is late: nothing was delivered by the due day.', f.feed)
            else printf('The %s feed has not been delivered yet.', f.feed)
        end as message,
        null as segment,
        null as sku,
        f.feed
    from feed_status as f
    cross join partners as p
    where f.month = $month and f.status in ('rejected', 'late', 'missing')
),

reconciliation_warnings as (
    select
        partner_id,
        'data_quality' as rule,
        case when max(difference) >= 2 * $recon_tolerance - 1e-9 then 'high' else 'medium' end
            as severity,
        country as scope,
        null as kpi,
        max(difference) as value,
        $recon_tolerance as threshold,
        printf(
            '%s and %s disagree by up to %.1f %% in %s (%s; tolerance %.0f %%).',
            any_value(left_feed), any_value(right_feed), max(difference) * 100, country,
            string_agg(distinct segment, ', ' order by segment), $recon_tolerance * 100
        ) as message,
        null as segment,
        null as sku,
        null as feed
    from reconciliation
    where month = $month
    group by partner_id, country, check_name
),

missing_partner as (
    select
        partner_id,
        'missing_partner_data' as rule,
        'medium' as severity,
        'partner' as scope,
        null as kpi,
        null as value,
        null as threshold,
        printf('No rows for this partner in the %s delivery.', feed) as message,
        null as segment,
        null as sku,
        feed
    from missing_partner_data
    where month = $month
),

all_flags as (
    select * from windows_share_drop
    union all by name
    select * from forecast_miss
    union all by name
    select * from target_gap
    union all by name
    select * from attach_drop
    union all by name
    select * from competitive_loss
    union all by name
    select * from feed_problems
    union all by name
    select * from reconciliation_warnings
    union all by name
    select * from missing_partner
)

select
    $month as month,
    partner_id,
    rule,
    severity,
    scope,
    kpi,
    value,
    threshold,
    message,
    segment,
    sku,
    feed
from all_flags
where partner_id in (select partner_id from partners)
order by partner_id, rule, scope, kpi, sku, feed
