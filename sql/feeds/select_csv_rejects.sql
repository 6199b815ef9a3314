-- CSV records DuckDB could not split into the header's columns, not decode, or that
-- were too long: one row per record (a record can be reported twice), with the byte
-- where its line starts.
select
    line,
    first(error_type order by error_type) as error_type,
    first(csv_line order by error_type) as csv_line,
    first(error_message order by error_type) as error_message,
    min(line_byte_position) as line_byte_position
from {rejects}
group by line
order by line
