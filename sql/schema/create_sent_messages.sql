-- Every message of a month (SPEC section 8): one row per month, kind and message key, its
-- latest state. The table is not called deliveries, which already means feed deliveries.
-- Key: month, kind, message_key; kept unique by how rows are written
-- (DuckLake has no PRIMARY KEY).
create table if not exists sent_messages (
    month varchar not null,
    kind varchar not null,              -- pam | region | teams
    message_key varchar not null,       -- the PAM's partners, or the region
    recipient varchar not null,         -- addresses, comma separated (teams: the variable name)
    message_id varchar not null,        -- the Message-ID header, kept on every resend
    content_hash varchar not null,      -- sha256 of the content without generation timestamps
    status varchar not null,            -- pending | sent | failed | outbox
    subject varchar not null,
    detail varchar,                     -- why a message was not sent
    file varchar,                       -- the .eml in outbox/<YYYY-MM>/ while it is there
    updated_at timestamp not null
)
