-- Rows of the typed staged delivery.
select count(*) from delivery
