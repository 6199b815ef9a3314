-- The staged delivery typed by the rule table (_file, _row, then the contract columns
-- every file has), blank rows left out. Files were staged in order and numbered in
-- order; with insertion order kept, the table keeps (_file, _row) order without a sort
-- (a sort of 10M rows doubled the peak memory).
create or replace table delivery as
select {typed_columns}
from rows
where not ({all_blank})
