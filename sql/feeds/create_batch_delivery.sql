-- Several staged deliveries of a feed as one table, to be validated in one go.
create table delivery as
{union_of_deliveries}
