-- Remove one month of reconciliation warnings before they are computed again.
delete from reconciliation
where month = $month
