-- Record a delivery's outcome; the same delivery checked again replaces its row
-- (MERGE, which the DuckDB file and DuckLake both take; DuckLake has no keys for upserts).
merge into deliveries as d
using (
    select
        $feed as feed,
        $month as month,
        $fingerprint as fingerprint,
        $status as status,
        $files as files,
        $delivered_at::timestamp as delivered_at,
        $checked_at::timestamp as checked_at,
        $rows::bigint as rows,
        $problems::bigint as problems,
        $checks_failed::integer as checks_failed,
        $warnings as warnings,
        $quarantine::varchar as quarantine
) as s
    on d.feed = s.feed and d.month = s.month and d.fingerprint = s.fingerprint
when matched then
    update
        set
            status = s.status,
            files = s.files,
            delivered_at = s.delivered_at,
            checked_at = s.checked_at,
            rows = s.rows,
            problems = s.problems,
            checks_failed = s.checks_failed,
            warnings = s.warnings,
            quarantine = s.quarantine
when not matched then insert (
    feed, month, fingerprint, status, files, delivered_at, checked_at,
    rows, problems, checks_failed, warnings, quarantine
)
values (
    s.feed, s.month, s.fingerprint, s.status, s.files, s.delivered_at, s.checked_at,
    s.rows, s.problems, s.checks_failed, s.warnings, s.quarantine
)
