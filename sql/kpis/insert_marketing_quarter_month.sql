-- The activities that count for $month: per partner, its latest marketing delivery among
-- $qtd_months (the fiscal quarter up to $month), only rows of $fiscal_quarter.
insert into marketing_quarter
with served as (
    select
        partner_id,
        max(month) as as_of
    from marketing
    where list_contains($qtd_months, month)
    group by partner_id
)

select
    $month as month,
    m.partner_id,
    m.fiscal_quarter,
    m.month as as_of,
    m.activity_id,
    m.activity,
    m.kind,
    m.country,
    m.budget_usd,
    m.spent_usd,
    m.status,
    m.poe_status,
    m.end_date
from marketing as m
inner join served as s on m.partner_id = s.partner_id and m.month = s.as_of
where m.fiscal_quarter = $fiscal_quarter
order by m.partner_id, m.activity_id
