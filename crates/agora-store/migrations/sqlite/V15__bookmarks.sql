-- Bookmarks. Paired by name with migrations/postgres/V15__bookmarks.sql.

-- A member's saved posts and threads, each with an optional short note and reminder. Private
-- to its owner. `post_id` is 0 for the whole thread (not NULL: NULLs never conflict, and the
-- one-bookmark-per-place rule below must hold for threads too).
CREATE TABLE bookmarks (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    thread_id   BIGINT  NOT NULL,
    post_id     BIGINT  NOT NULL DEFAULT 0,
    note        TEXT    NOT NULL DEFAULT '',
    -- when to remind (a `reminder` job is due then); NULL: no reminder
    remind_at   BIGINT,
    -- when that reminder came due and was settled (told, or not told because the post is gone
    -- or the member suspended); cleared when the reminder changes
    reminded_at BIGINT,
    created_at  BIGINT  NOT NULL,
    UNIQUE (user_id, thread_id, post_id)
);
-- A member's list, newest first.
CREATE INDEX bookmarks_by_user ON bookmarks (user_id, created_at, id);

-- A reminder changed or cleared settles the job that was waiting for the old time: one index
-- probe by payload, however many jobs the table keeps.
CREATE INDEX jobs_reminder_waiting ON jobs (payload)
    WHERE kind = 'reminder' AND done_at IS NULL AND claimed_at IS NULL;
