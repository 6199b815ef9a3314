-- One quarterly target.
insert into targets (partner_id, fiscal_quarter, kpi, target)
values ($partner_id, $fiscal_quarter, $kpi, $target)
