-- CSV records DuckDB could not split into the header's columns, or not decode.
select
    line,
    error_type,
    csv_line,
    error_message
from {rejects}
order by line
