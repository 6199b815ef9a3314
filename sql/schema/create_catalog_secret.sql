-- The DuckLake catalog's password, kept out of the ATTACH string (DuckDB repeats that in errors).
create or replace temporary secret oemkpi_catalog (type postgres, password $password)
