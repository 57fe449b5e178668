-- Paired with migrations/sqlite/V12__job_runner.sql: retries (`run_after` moved on,
-- `last_error`) and dead letters (`failed_at`: never claimed again until staff retry it).
ALTER TABLE jobs ADD COLUMN failed_at BIGINT;
ALTER TABLE jobs ADD COLUMN last_error TEXT;
DROP INDEX jobs_ready;
CREATE INDEX jobs_ready ON jobs (run_after, id) WHERE done_at IS NULL AND failed_at IS NULL;
CREATE INDEX jobs_dead ON jobs (failed_at, id) WHERE failed_at IS NOT NULL;
