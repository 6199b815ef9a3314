-- Rows of an attached staged delivery whose month is not its folder's month.
select count(*)
from {alias}.delivery
where month is distinct from ?
