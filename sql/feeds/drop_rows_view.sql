-- The numbered view is done with once the delivery is typed.
drop view rows
