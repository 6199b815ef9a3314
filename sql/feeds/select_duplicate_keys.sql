-- Rows of a staged delivery whose key an earlier row already has, with that earlier row.
with keyed as (
    select
        _file,
        _row,
        {keys},
        first_value(_file) over by_key as first_file,
        first_value(_row) over by_key as first_row,
        row_number() over by_key as occurrence
    from delivery
    window by_key as (partition by {keys} order by _file, _row)
)

select
    _file,
    _row,
    first_file,
    first_row,
    count(*) over () as repeats,
    {keys}
from keyed
where occurrence > 1
order by _file, _row
limit $limit
