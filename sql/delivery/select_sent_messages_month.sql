-- Every message of a month, as recorded.
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
where month = $month
order by kind, message_key
