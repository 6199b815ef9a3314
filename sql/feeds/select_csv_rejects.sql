-- CSV records DuckDB could not split into the header's columns, not decode, or that
-- were too long: one row per record (a record can be reported more than once; a record
-- too long is named as that, whatever else was said of it), with the byte where its
-- line starts.
select
    line,
    first(error_type order by error_type = 'LINE SIZE OVER MAXIMUM' desc, error_type)
        as error_type,
    first(csv_line order by error_type = 'LINE SIZE OVER MAXIMUM' desc, error_type)
        as csv_line,
    first(error_message order by error_type = 'LINE SIZE OVER MAXIMUM' desc, error_type)
        as error_message,
    min(line_byte_position) as line_byte_position
from {rejects}
group by line
order by line
