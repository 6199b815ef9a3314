-- Remove one month of partner coverage before it is recorded again.
delete from missing_partner_data
where month = $month
