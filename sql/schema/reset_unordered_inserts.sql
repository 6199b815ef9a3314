-- Back to DuckDB's default: inserts keep their order.
reset preserve_insertion_order
