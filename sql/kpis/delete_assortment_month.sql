-- Remove one month of assortment changes before it is computed again.
delete from assortment
where month = $month
