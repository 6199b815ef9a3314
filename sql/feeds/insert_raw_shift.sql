-- Accepted record k (0-based) lies after rejected record j once k >= line - j - 1.
insert into raw_shift values (?, ?, ?)
