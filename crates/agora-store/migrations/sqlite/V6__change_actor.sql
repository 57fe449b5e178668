-- Paired with migrations/postgres/V6__change_actor.sql: the account that made each change
-- (NULL for system work such as imports and recounts, and for entries written before V6).
-- No foreign key: the log is history and outlives whatever it names.
ALTER TABLE change_log ADD COLUMN actor_id BIGINT;
