-- The DuckLake catalog's password (or NULL), kept out of the ATTACH string, which DuckDB
-- repeats in its errors; ATTACH names this secret as its meta_secret.
create or replace temporary secret oemkpi_catalog (type postgres, password $password)
