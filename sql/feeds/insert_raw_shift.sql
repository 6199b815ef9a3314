-- Accepted record k (0-based) of a file lies after the lines skipped before it once k >=
-- k_threshold (see diagnose._shift_rows): every threshold of one file in one statement.
insert into raw_shift
select
    ? as _file,
    unnest(?) as k_threshold,
    unnest(?) as shift
