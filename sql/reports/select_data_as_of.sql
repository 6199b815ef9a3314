-- The newest delivery time among the feeds in force for a month.
select max(delivered_at) as data_as_of
from deliveries
where month = $month and status = 'loaded'
