-- Watching and notifications. Paired by name with migrations/postgres/V13__notifications.sql.

-- A member's chosen level for a thread, a subtopic or a tag. Without a row, the defaults
-- apply (their own threads: watching; threads they replied in: tracking; else normal).
CREATE TABLE watches (
    user_id     INTEGER NOT NULL REFERENCES users (id),
    target_kind TEXT    NOT NULL CHECK (target_kind IN ('thread', 'subtopic', 'tag')),
    target_id   BIGINT  NOT NULL,
    level       TEXT    NOT NULL
        CHECK (level IN ('watching', 'watching_first_post', 'tracking', 'normal', 'muted')),
    updated_at  BIGINT  NOT NULL,
    PRIMARY KEY (user_id, target_kind, target_id)
);
-- Who watches a thread, a subtopic or a tag (the notifier's question for each new post).
CREATE INDEX watches_by_target ON watches (target_kind, target_id, level);

-- What a member is told. One row per recipient and post; boosts of one post are one row that
-- counts them. `source` is the change-log entry that caused it (a retry inserts nothing twice).
CREATE TABLE notifications (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    kind        TEXT    NOT NULL,
    thread_id   BIGINT  NOT NULL,
    post_id     BIGINT,
    actor_id    BIGINT,
    -- how many (boosts); 1 otherwise
    count       BIGINT  NOT NULL DEFAULT 1,
    -- a moderator's reason, for a moderator action
    reason      TEXT,
    source      BIGINT  NOT NULL,
    created_at  BIGINT  NOT NULL,
    read_at     BIGINT,
    UNIQUE (user_id, source, kind)
);
CREATE INDEX notifications_by_user ON notifications (user_id, id);
CREATE INDEX notifications_unread ON notifications (user_id, thread_id) WHERE read_at IS NULL;

-- A member's notification settings: the levels their own threads and the threads they reply
-- in get, and the kinds they do not want (space-separated).
CREATE TABLE notify_prefs (
    user_id       INTEGER PRIMARY KEY REFERENCES users (id),
    own_threads   TEXT    NOT NULL,
    replied       TEXT    NOT NULL,
    off_kinds     TEXT    NOT NULL
);

-- How far the notifier has read the change log: one row, moved in the same transaction as the
-- notifications it wrote (so several nodes write each once). A new forum starts at the log's
-- head: nothing before it notifies.
CREATE TABLE notifier_state (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    position BIGINT  NOT NULL
);
INSERT INTO notifier_state (id, position) SELECT 1, COALESCE(MAX(seq), 0) FROM change_log;
