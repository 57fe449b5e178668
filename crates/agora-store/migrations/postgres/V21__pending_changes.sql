-- Writes on PostgreSQL no longer serialise on the change log or on hot counter rows. Paired
-- by name with migrations/sqlite/V21__pending_changes.sql (SQLite has one writer, so it
-- appends to change_log and updates counters in place, and these tables stay empty there).
--
-- A write inserts its change-log entry here, without a lock. Before a follower reads the log,
-- it moves the committed entries into change_log in one short transaction under the change
-- lock, so sequence numbers become visible in order (a follower reading `seq > last` never
-- skips one) while no write holds a lock through its commit.
CREATE TABLE change_pending (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        BIGINT NOT NULL,
    kind      TEXT   NOT NULL,
    actor_id  BIGINT,
    thread_id BIGINT,
    post_id   BIGINT
);

-- What a new thread or reply adds to its subtopic's and its author's counters, folded into
-- those rows with the pending changes. Readers of a subtopic or a profile add the rows not
-- folded yet, so counts are exact at once; a recount subtracts them (they are folded later).
CREATE TABLE count_deltas (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subtopic_id BIGINT,
    user_id     BIGINT,
    posts       BIGINT NOT NULL,
    threads     BIGINT NOT NULL,
    at          BIGINT NOT NULL
);
CREATE INDEX count_deltas_by_subtopic ON count_deltas (subtopic_id);
CREATE INDEX count_deltas_by_user ON count_deltas (user_id);
