-- Paired with migrations/postgres/V9__reply_to.sql: which post a reply answers, and how many
-- visible replies answer each post (kept right by the write paths like the thread's counters;
-- `sql::RECOUNT` recomputes it). A reply to a post that is later erased (its account deleted)
-- forgets what it answered rather than blocking the deletion.
ALTER TABLE posts ADD COLUMN reply_to INTEGER REFERENCES posts (id) ON DELETE SET NULL;
ALTER TABLE posts ADD COLUMN reply_count BIGINT NOT NULL DEFAULT 0;
CREATE INDEX posts_reply_to ON posts (reply_to) WHERE reply_to IS NOT NULL;
-- The renderer version that wrote the stored post HTML (`agora_markup::VERSION`): start-up
-- renders every post again when it differs. Everything stored before this was version 1.
ALTER TABLE instance ADD COLUMN markup_version BIGINT NOT NULL DEFAULT 1;
