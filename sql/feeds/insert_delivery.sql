-- Record a delivery's outcome; the same delivery checked again replaces its row.
insert or replace into deliveries (
    feed, month, fingerprint, status, files, delivered_at, checked_at,
    rows, problems, checks_failed, warnings, quarantine
)
values (
    $feed, $month, $fingerprint, $status, $files, $delivered_at, $checked_at,
    $rows, $problems, $checks_failed, $warnings, $quarantine
)
