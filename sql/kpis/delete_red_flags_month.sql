-- Remove one month of red flags before they are evaluated again.
delete from red_flags
where month = $month
