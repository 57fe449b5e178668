-- The job runner's retries and dead letters. A job that fails is tried again later
-- (`run_after` moved on, with `last_error` saying why); after the last attempt, or a failure
-- that cannot get better, it is dead: `failed_at` set, never claimed again until staff retry
-- it from /admin. Paired by name with migrations/postgres/V12__job_runner.sql.
ALTER TABLE jobs ADD COLUMN failed_at BIGINT;
ALTER TABLE jobs ADD COLUMN last_error TEXT;
-- Claiming reads only live jobs: dead ones leave the ready index.
DROP INDEX jobs_ready;
CREATE INDEX jobs_ready ON jobs (run_after, id) WHERE done_at IS NULL AND failed_at IS NULL;
-- The dashboard's and /healthz's dead letters, newest first.
CREATE INDEX jobs_dead ON jobs (failed_at, id) WHERE failed_at IS NOT NULL;
