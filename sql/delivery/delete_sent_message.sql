-- Forget a message's earlier state before its new one is inserted (same transaction).
delete from sent_messages
where month = $month and kind = $kind and message_key = $message_key
