-- The weekly digest. Paired by name with migrations/postgres/V16__weekly_digest.sql.

-- 'off' (the default) or 'weekly': an email of the best new threads in what a member watches.
ALTER TABLE notify_prefs ADD COLUMN digest TEXT NOT NULL DEFAULT 'off';
-- When the member's next digest is due (NULL while it is off). A digest job carries the time
-- it was queued for and does nothing unless it still matches: turning the digest off and on
-- again never sends two.
ALTER TABLE notify_prefs ADD COLUMN digest_due_at BIGINT;

-- What an unsubscribe link turns off: 'notifications' (notification email) or 'digest'.
ALTER TABLE unsubscribe_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'notifications';

-- A digest reads the threads started in its week, forum-wide.
CREATE INDEX threads_created ON threads (created_at);
