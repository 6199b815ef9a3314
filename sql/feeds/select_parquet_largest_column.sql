-- The largest column chunk of a Parquet file (one column of one row group), uncompressed,
-- from its footer alone: every value in it is at most that size.
select
    path_in_schema,
    total_uncompressed_size
from parquet_metadata(?)
order by total_uncompressed_size desc
limit 1
