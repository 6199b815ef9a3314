-- Every check result (contract and suite expectations) of a delivery, in one statement:
-- one list per column, bound as parameters, unnested in step.
insert into delivery_checks (
    feed, month, fingerprint, check_name, passed, unexpected_count, detail
)
select
    $feed,
    $month,
    $fingerprint,
    unnest($check_names),
    unnest($passed),
    unnest($unexpected_counts),
    unnest($details)
