-- One file of a clean delivery, typed: its trimmed text, blank rows left out.
select {typed_columns}
from (
    select {text_columns}
    from {relation}
) as file_text
where not ({all_blank})
