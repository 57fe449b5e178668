-- Drafts: what a member was writing and has not published, one per account and place, kept
-- on the server so it comes back on any device. Paired by name with
-- migrations/postgres/V11__drafts.sql.
CREATE TABLE drafts (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    -- 'thread' (a new thread; target 0), 'reply' (target: the thread), 'edit' (target: the post)
    place       TEXT    NOT NULL CHECK (place IN ('thread', 'reply', 'edit')),
    target      BIGINT  NOT NULL,
    -- a new thread's choices as typed: area/subtopic, title, tag slugs, question or discussion
    subtopic    TEXT    NOT NULL,
    title       TEXT    NOT NULL,
    tags        TEXT    NOT NULL,
    thread_kind TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    -- a reply's answered post; an edit's reason
    reply_to    BIGINT,
    reason      TEXT    NOT NULL,
    updated_at  BIGINT  NOT NULL,
    UNIQUE (user_id, place, target)
);
CREATE INDEX drafts_by_time ON drafts (user_id, updated_at);
