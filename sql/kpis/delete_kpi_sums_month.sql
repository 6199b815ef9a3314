-- Remove one month of kpi_sums before it is computed again.
delete from kpi_sums
where month = $month
