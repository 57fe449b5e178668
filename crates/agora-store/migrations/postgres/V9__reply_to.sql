-- Paired with migrations/sqlite/V9__reply_to.sql: which post a reply answers, and how many
-- visible replies answer each post (kept right by the write paths; `sql::RECOUNT` recomputes
-- it). A reply to a post that is later erased forgets what it answered.
ALTER TABLE posts ADD COLUMN reply_to BIGINT REFERENCES posts (id) ON DELETE SET NULL;
ALTER TABLE posts ADD COLUMN reply_count BIGINT NOT NULL DEFAULT 0;
CREATE INDEX posts_reply_to ON posts (reply_to) WHERE reply_to IS NOT NULL;
-- The renderer version that wrote the stored post HTML (`agora_markup::VERSION`).
ALTER TABLE instance ADD COLUMN markup_version BIGINT NOT NULL DEFAULT 1;
