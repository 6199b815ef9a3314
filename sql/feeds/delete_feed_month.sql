-- Remove one month of a feed, inside the transaction that inserts its replacement.
delete from {feed}
where month = $month
