-- Remove one month of feed status before it is recorded again.
delete from feed_status
where month = $month
