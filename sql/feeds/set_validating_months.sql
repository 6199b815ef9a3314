-- The months of a batch the validating view shows (a list bound as a parameter).
set variable oemkpi_months = ?
