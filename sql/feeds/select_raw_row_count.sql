-- Records staged so far: the next file's first record gets this rowid.
select count(*) from raw_rows
