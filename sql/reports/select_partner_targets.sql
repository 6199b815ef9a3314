-- Every partner's quarterly targets for the fiscal quarters a report looks at (the
-- trend charts' quarters and the quarter before the current one).
select
    partner_id,
    fiscal_quarter,
    kpi,
    target
from targets
where list_contains($quarters, fiscal_quarter)
order by partner_id, fiscal_quarter, kpi
