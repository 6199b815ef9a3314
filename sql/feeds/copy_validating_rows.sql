-- The months a transaction has just written to a feed table, copied for the suite process
-- to judge (oemkpi.ingest.suite_worker); the months are bound with
-- `set variable oemkpi_months = ?`, the file is a Parquet file in staging. (sqlfluff's
-- DuckDB dialect does not parse COPY ... TO.)
copy (select {columns} from {feed} where list_contains(getvariable('oemkpi_months'), month)) to $path (format parquet)  -- noqa: PRS, LT05
