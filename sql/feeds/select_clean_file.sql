-- One file of a clean delivery, typed: its text as delivered (blank as NULL; what needs
-- trimming is trimmed by the typed columns), blank rows left out.
-- {every_column} names each column no contract column comes from, so DuckDB checks
-- every byte of the file (see oemkpi.ingest.landing.every_column_read).
select {typed_columns}
from (
    select {text_columns}
    from {relation}
    where {every_column}
) as file_text
where not ({all_blank})
