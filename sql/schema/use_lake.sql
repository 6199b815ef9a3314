-- Unqualified table names in sql/ resolve to the DuckLake warehouse.
use lake
