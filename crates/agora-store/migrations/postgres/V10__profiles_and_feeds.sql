-- Profile tabs, the member directory and the site-wide feed. Paired by name with
-- migrations/sqlite/V10__profiles_and_feeds.sql.

-- A profile's "boosts given" tab: one member's boosts, newest first, read as one index range.
CREATE INDEX boosts_by_user ON boosts (user_id, created_at);

-- The site-wide feed: the newest threads anywhere, without sorting every thread.
CREATE INDEX threads_by_time ON threads (created_at, id);

-- The member directory sorted by accepted answers counts the solved threads only.
CREATE INDEX threads_accepted ON threads (accepted_post_id) WHERE accepted_post_id IS NOT NULL;
