-- A tag's newest threads (its feeds, and its listing sorted by Newest) read from thread_tags
-- alone, as its listing by activity does, instead of joining and sorting every thread the tag
-- holds. Paired by name with migrations/sqlite/V19__tag_feed_order.sql.
ALTER TABLE thread_tags ADD COLUMN created_at BIGINT NOT NULL DEFAULT 0;
UPDATE thread_tags SET created_at = (SELECT t.created_at FROM threads t WHERE t.id = thread_tags.thread_id);
CREATE INDEX thread_tags_by_created ON thread_tags (tag_id, visible, created_at, thread_id);
