-- The tables PostgreSQL's writers use so that they never serialise on the change log or on
-- hot counter rows (see migrations/postgres/V21__pending_changes.sql, paired by name). SQLite
-- has one writer: it appends to change_log and updates counters in place, so these stay empty
-- here; they exist so that both schemas, and the queries that read them, stay the same.
CREATE TABLE change_pending (
    id        INTEGER PRIMARY KEY,
    at        BIGINT  NOT NULL,
    kind      TEXT    NOT NULL,
    actor_id  BIGINT,
    thread_id BIGINT,
    post_id   BIGINT
);

CREATE TABLE count_deltas (
    id          INTEGER PRIMARY KEY,
    subtopic_id BIGINT,
    user_id     BIGINT,
    posts       BIGINT  NOT NULL,
    threads     BIGINT  NOT NULL,
    at          BIGINT  NOT NULL
);
CREATE INDEX count_deltas_by_subtopic ON count_deltas (subtopic_id);
CREATE INDEX count_deltas_by_user ON count_deltas (user_id);
