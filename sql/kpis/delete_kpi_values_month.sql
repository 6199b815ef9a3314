-- Remove one month of KPI values before it is computed again.
delete from kpi_values
where month = $month
