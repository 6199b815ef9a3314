-- A message's state now.
insert into sent_messages (
    month, kind, message_key, recipient, message_id, content_hash, status, subject, detail,
    file, updated_at
)
values (
    $month, $kind, $message_key, $recipient, $message_id, $content_hash, $status, $subject,
    $detail, $file, now()::timestamp
)
