-- Red flags of a month by rule and severity.
select
    rule,
    severity,
    count(*) as flags
from red_flags
where month = $month
group by rule, severity
order by rule, severity
