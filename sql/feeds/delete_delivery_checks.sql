-- Forget the check results of a delivery before recording them again.
delete from delivery_checks
where feed = $feed and month = $month and fingerprint = $fingerprint
