-- Big inserts may store rows in whatever order DuckDB's threads produce them.
set preserve_insertion_order = false
