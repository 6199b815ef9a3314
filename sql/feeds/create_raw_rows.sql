-- The diagnosing parse's staging table: every record of every file as trimmed text.
-- _base is the rowid of the file's first record, so numbering rows needs no join.
create or replace table raw_rows (
    _file varchar,
    _base bigint,
    {column_definitions}
)
