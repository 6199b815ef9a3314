-- Recorded messages: a month's ($month), or of every month ($month null); with
-- $unsent_only, only those still waiting in the outbox (not sent yet, or a send that failed).
select
    month,
    kind,
    message_key,
    recipient,
    message_id,
    content_hash,
    status,
    subject,
    detail,
    file
from sent_messages
where
    month = coalesce($month, month)
    and (not $unsent_only or status in ('pending', 'failed'))
order by month, kind, message_key
