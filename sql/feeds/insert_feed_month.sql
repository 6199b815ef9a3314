-- Insert a checked delivery from the attached staging database.
insert into {feed} ({columns})
select {columns}
from staged.delivery
