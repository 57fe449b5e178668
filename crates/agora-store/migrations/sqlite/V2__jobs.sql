-- Work that must happen once however many nodes run (emails, notifications). A node claims a
-- job for a lease; a job whose lease ran out without being finished is claimed again.
CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY,
    kind        TEXT    NOT NULL,
    payload     TEXT    NOT NULL,
    run_after   BIGINT  NOT NULL,
    claimed_by  TEXT,
    claimed_at  BIGINT,
    done_at     BIGINT,
    attempts    BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX jobs_ready ON jobs (run_after, id) WHERE done_at IS NULL;
