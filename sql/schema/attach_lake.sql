-- The DuckLake warehouse: catalog in PostgreSQL (libpq string, no password), Parquet under data_path.
attach {catalog} as lake (data_path {data_path})
