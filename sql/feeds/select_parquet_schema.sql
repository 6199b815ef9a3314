-- A Parquet file's schema tree, depth first: the root, then each column and its children
-- (the names as written, where read_parquet renames a second 'Units' to 'Units_1').
select
    name,
    coalesce(num_children, 0) as num_children
from parquet_schema(?)
