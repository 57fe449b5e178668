-- Agora's data model on SQLite. Paired by name with migrations/postgres/V1__initial.sql.
-- Timestamps are BIGINT microseconds since the Unix epoch, UTC, on both backends.
-- Booleans are declared BOOLEAN (stored 0/1 here); SQL uses TRUE/FALSE literals, which both read.

CREATE TABLE areas (
    id          INTEGER PRIMARY KEY,
    slug        TEXT    NOT NULL UNIQUE,
    name        TEXT    NOT NULL,
    description TEXT    NOT NULL,
    position    INTEGER NOT NULL
);

CREATE TABLE subtopics (
    id               INTEGER PRIMARY KEY,
    area_id          INTEGER NOT NULL REFERENCES areas (id),
    slug             TEXT    NOT NULL,
    name             TEXT    NOT NULL,
    description      TEXT    NOT NULL,
    docs_url         TEXT,
    position         INTEGER NOT NULL,
    thread_count     BIGINT  NOT NULL DEFAULT 0,
    post_count       BIGINT  NOT NULL DEFAULT 0,
    last_activity_at BIGINT,
    UNIQUE (area_id, slug)
);

CREATE TABLE tags (
    id           INTEGER PRIMARY KEY,
    slug         TEXT   NOT NULL UNIQUE,
    name         TEXT   NOT NULL,
    description  TEXT   NOT NULL,
    thread_count BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    username       TEXT    NOT NULL,
    -- lower-cased username: names are unique regardless of case
    username_key   TEXT    NOT NULL UNIQUE,
    display_name   TEXT    NOT NULL,
    role           TEXT    NOT NULL CHECK (role IN ('member', 'moderator', 'staff', 'admin')),
    staff_title    TEXT,
    signature_md   TEXT    NOT NULL,
    signature_html TEXT    NOT NULL,
    created_at     BIGINT  NOT NULL,
    thread_count   BIGINT  NOT NULL DEFAULT 0,
    post_count     BIGINT  NOT NULL DEFAULT 0
);

CREATE TABLE threads (
    id                  INTEGER PRIMARY KEY,
    subtopic_id         INTEGER NOT NULL REFERENCES subtopics (id),
    slug                TEXT    NOT NULL,
    title               TEXT    NOT NULL,
    kind                TEXT    NOT NULL CHECK (kind IN ('question', 'discussion')),
    author_id           INTEGER NOT NULL REFERENCES users (id),
    excerpt             TEXT    NOT NULL,
    created_at          BIGINT  NOT NULL,
    last_activity_at    BIGINT  NOT NULL,
    last_poster_id      INTEGER NOT NULL REFERENCES users (id),
    pin_scope           TEXT    CHECK (pin_scope IN ('subtopic', 'global')),
    locked_at           BIGINT,
    locked_by           INTEGER REFERENCES users (id),
    lock_reason         TEXT,
    accepted_post_id    BIGINT,
    recommended_post_id BIGINT,
    staff_answered      BOOLEAN NOT NULL DEFAULT FALSE,
    reply_count         BIGINT  NOT NULL DEFAULT 0,
    boost_count         BIGINT  NOT NULL DEFAULT 0,
    view_count          BIGINT  NOT NULL DEFAULT 0
);

-- One index per listing sort, each ending in id so ties page stably.
CREATE INDEX threads_by_activity ON threads (subtopic_id, last_activity_at, id);
CREATE INDEX threads_by_created  ON threads (subtopic_id, created_at, id);
CREATE INDEX threads_by_boosts   ON threads (subtopic_id, boost_count, id);
CREATE INDEX threads_by_views    ON threads (subtopic_id, view_count, id);
CREATE INDEX threads_by_replies  ON threads (subtopic_id, reply_count, id);
CREATE INDEX threads_by_author   ON threads (author_id, created_at, id);
CREATE INDEX threads_pinned      ON threads (pin_scope) WHERE pin_scope IS NOT NULL;

-- last_activity_at is copied here so a tag's listing reads one index range.
CREATE TABLE thread_tags (
    thread_id        INTEGER NOT NULL REFERENCES threads (id),
    tag_id           INTEGER NOT NULL REFERENCES tags (id),
    last_activity_at BIGINT  NOT NULL,
    PRIMARY KEY (thread_id, tag_id)
);
CREATE INDEX thread_tags_by_activity ON thread_tags (tag_id, last_activity_at, thread_id);

CREATE TABLE posts (
    id          INTEGER PRIMARY KEY,
    thread_id   INTEGER NOT NULL REFERENCES threads (id),
    -- 0 is the opening post; dense, so page N of a thread is a range, never an OFFSET
    position    INTEGER NOT NULL,
    author_id   INTEGER NOT NULL REFERENCES users (id),
    body_md     TEXT    NOT NULL,
    body_html   TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    edited_at   BIGINT,
    boost_count BIGINT  NOT NULL DEFAULT 0,
    UNIQUE (thread_id, position)
);
CREATE INDEX posts_by_author ON posts (author_id, created_at);

-- Every version of an edited post, the original included (revision 1).
CREATE TABLE post_revisions (
    post_id    INTEGER NOT NULL REFERENCES posts (id),
    revision   INTEGER NOT NULL,
    author_id  INTEGER NOT NULL REFERENCES users (id),
    created_at BIGINT  NOT NULL,
    reason     TEXT,
    body_md    TEXT    NOT NULL,
    PRIMARY KEY (post_id, revision)
);

CREATE TABLE boosts (
    post_id    INTEGER NOT NULL REFERENCES posts (id),
    user_id    INTEGER NOT NULL REFERENCES users (id),
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (post_id, user_id)
);

-- Ordered log of every change, appended in the same transaction as the change.
-- Caches and the search index follow it; it is never read back into the model.
CREATE TABLE change_log (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    at         BIGINT  NOT NULL,
    kind       TEXT    NOT NULL,
    thread_id  BIGINT,
    post_id    BIGINT
);
