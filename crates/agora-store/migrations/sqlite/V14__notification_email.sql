-- Notifications by email. Paired by name with migrations/postgres/V14__notification_email.sql.

-- When a notification went out by email (or was settled without one): an email job batches
-- the unread, unsent notifications of one thread.
ALTER TABLE notifications ADD COLUMN emailed_at BIGINT;

-- 'away' (emailed when not on the forum, the default) or 'never'.
ALTER TABLE notify_prefs ADD COLUMN email TEXT NOT NULL DEFAULT 'away';

-- The last time a member was seen on a page (written at most once a minute per node): who
-- is away, for email.
ALTER TABLE users ADD COLUMN last_seen_at BIGINT;

-- One-click unsubscribe links (RFC 8058): one per email, stored as a hash, used once; they
-- only turn notification email off, and need no session.
CREATE TABLE unsubscribe_tokens (
    token_hash TEXT    PRIMARY KEY,
    user_id    BIGINT  NOT NULL REFERENCES users (id),
    created_at BIGINT  NOT NULL,
    used_at    BIGINT
);

-- The notifier asks, for each member and thread, whether an email job is already waiting
-- (it then takes the new notifications too): one index probe, however many jobs wait.
CREATE INDEX jobs_notification_waiting ON jobs (payload)
    WHERE kind = 'notification_email' AND done_at IS NULL AND claimed_at IS NULL;
