-- One rescued record: its file and line, then each contract column's trimmed text
-- taken from its position in the record's values (bound as c0..cN).
insert into raw_rescued
select
    ? as _file,
    ? as _row,
    {text_columns}
from (select {record_values}) as record
