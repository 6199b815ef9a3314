-- Messages of any month still waiting in the outbox: not sent yet, or a send that failed.
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
where status in ('pending', 'failed')
order by month, kind, message_key
