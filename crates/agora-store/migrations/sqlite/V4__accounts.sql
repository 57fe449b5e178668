-- Accounts, sessions, API tokens, writing, moderation. Paired with postgres/V4__accounts.sql.

-- Sign-in details. Imported users have no email or password until an admin gives them one.
ALTER TABLE users ADD COLUMN email TEXT;
-- lower-cased email: one account per address
ALTER TABLE users ADD COLUMN email_key TEXT;
ALTER TABLE users ADD COLUMN email_verified_at BIGINT;
ALTER TABLE users ADD COLUMN password_hash TEXT;
-- the UTS #39 skeleton of the username: names that look alike share it
ALTER TABLE users ADD COLUMN name_skeleton TEXT;
ALTER TABLE users ADD COLUMN suspended_until BIGINT;
ALTER TABLE users ADD COLUMN suspend_reason TEXT;
CREATE UNIQUE INDEX users_by_email ON users (email_key);
CREATE INDEX users_by_skeleton ON users (name_skeleton);

-- A signed-in browser. Only a hash of the cookie's token is stored.
CREATE TABLE sessions (
    id           INTEGER PRIMARY KEY,
    token_hash   TEXT    NOT NULL UNIQUE,
    user_id      INTEGER NOT NULL REFERENCES users (id),
    created_at   BIGINT  NOT NULL,
    last_seen_at BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL,
    user_agent   TEXT    NOT NULL,
    ip           TEXT    NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);

-- Personal API tokens, shown once, stored hashed.
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    token_hash   TEXT    NOT NULL UNIQUE,
    user_id      INTEGER NOT NULL REFERENCES users (id),
    name         TEXT    NOT NULL,
    scope        TEXT    NOT NULL CHECK (scope IN ('read', 'write')),
    created_at   BIGINT  NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);
CREATE INDEX api_tokens_by_user ON api_tokens (user_id);

-- One-time links sent by email (verify an address, reset a password).
CREATE TABLE email_tokens (
    token_hash TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    purpose    TEXT    NOT NULL CHECK (purpose IN ('verify', 'reset')),
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL,
    used_at    BIGINT
);

-- Soft deletion by authors, hiding by moderators.
ALTER TABLE posts ADD COLUMN deleted_at BIGINT;
-- who deleted it: its author, or a moderator
ALTER TABLE posts ADD COLUMN deleted_by INTEGER REFERENCES users (id);
ALTER TABLE posts ADD COLUMN hidden_at BIGINT;
ALTER TABLE posts ADD COLUMN hidden_by INTEGER REFERENCES users (id);
ALTER TABLE posts ADD COLUMN hidden_reason TEXT;
-- Set when the opening post is deleted or hidden: the thread leaves every listing.
ALTER TABLE threads ADD COLUMN removed_at BIGINT;
ALTER TABLE thread_tags ADD COLUMN visible BOOLEAN NOT NULL DEFAULT TRUE;
-- Position of the thread's last post: deleted posts keep their places, so this is not always
-- reply_count. Replies take the next position from it; pages are counted by it.
ALTER TABLE threads ADD COLUMN last_position BIGINT NOT NULL DEFAULT 0;
UPDATE threads SET last_position = reply_count;

DROP INDEX threads_by_activity;
CREATE INDEX threads_by_activity ON threads (subtopic_id, last_activity_at, id, pin_scope, removed_at);
DROP INDEX thread_tags_by_activity;
CREATE INDEX thread_tags_by_activity ON thread_tags (tag_id, visible, last_activity_at, thread_id);

-- Members report posts; moderators resolve reports from the review queue.
CREATE TABLE flags (
    id          INTEGER PRIMARY KEY,
    post_id     INTEGER NOT NULL REFERENCES posts (id),
    user_id     INTEGER NOT NULL REFERENCES users (id),
    reason      TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    resolved_at BIGINT,
    resolved_by INTEGER REFERENCES users (id),
    resolution  TEXT,
    UNIQUE (post_id, user_id)
);
CREATE INDEX flags_open ON flags (created_at) WHERE resolved_at IS NULL;

-- Every moderation action, for staff to read.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          BIGINT  NOT NULL,
    actor_id    INTEGER NOT NULL REFERENCES users (id),
    action      TEXT    NOT NULL,
    thread_id   BIGINT,
    post_id     BIGINT,
    target_user INTEGER REFERENCES users (id),
    details     TEXT    NOT NULL
);
CREATE INDEX audit_log_by_time ON audit_log (at);

