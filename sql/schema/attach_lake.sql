-- The DuckLake warehouse: catalog in PostgreSQL (libpq string without the password, which
-- comes from the secret named by meta_secret), Parquet files under data_path.
attach {catalog} as lake (data_path {data_path}, meta_secret {secret})
