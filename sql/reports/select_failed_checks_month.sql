-- Failed checks of the latest delivery of each feed in a month.
with latest as (
    select
        feed,
        fingerprint
    from deliveries
    where month = $month
    qualify row_number() over (partition by feed order by checked_at desc) = 1
)

select
    c.feed,
    c.check_name,
    c.unexpected_count,
    c.detail
from delivery_checks as c
inner join latest using (feed, fingerprint)
where c.month = $month and not c.passed
order by c.feed, c.check_name
