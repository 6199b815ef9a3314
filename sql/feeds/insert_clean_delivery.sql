-- A clean delivery straight from its files into the feed's table, typed on the way
-- (one select per file, generated from oemkpi.ingest.typing_rules); a value the rule
-- table would not take calls error() and aborts the insert.
insert into {feed} ({columns})
{typed_selects}
