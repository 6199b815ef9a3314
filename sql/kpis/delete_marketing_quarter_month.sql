-- Remove one month of marketing_quarter before it is computed again.
delete from marketing_quarter
where month = $month
