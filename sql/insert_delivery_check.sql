-- One check result (contract or suite expectation) of a delivery.
insert into delivery_checks (
    feed, month, fingerprint, check_name, passed, unexpected_count, detail
)
values ($feed, $month, $fingerprint, $check_name, $passed, $unexpected_count, $detail)
