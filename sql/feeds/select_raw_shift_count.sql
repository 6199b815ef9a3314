-- Whether any CSV record was rejected (then row numbers shift past it).
select count(*) from raw_shift
