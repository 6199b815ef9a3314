-- The text copy is done with once the delivery is typed.
drop table raw_rows
