-- Records that end in empty values beyond the header's last column, which the main read
-- drops in silence: read with one column more ({extra}), such a record has '' there,
-- every other record NULL (null_padding), since nullstr is a value no delivery holds.
-- Records that cannot be read at all are the main read's to name (ignore_errors).
select count(*)
from
    read_csv(
        ?,
        header = true,
        auto_detect = false,
        columns = ?,
        delim = ',',
        quote = '"',
        escape = '"',
        strict_mode = true,
        null_padding = true,
        nullstr = ?,
        ignore_errors = true,
        max_line_size = ?,
        skip = ?
    )
where {extra} = ''
