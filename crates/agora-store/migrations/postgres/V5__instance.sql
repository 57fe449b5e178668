-- Paired with migrations/sqlite/V5__instance.sql: which database this is (renewed by a restore).
CREATE TABLE instance (
    id          BIGINT PRIMARY KEY CHECK (id = 1),
    database_id TEXT   NOT NULL,
    created_at  BIGINT NOT NULL
);
