-- The default listing (latest activity, pinned threads shown apart) filters on pin_scope.
-- With pin_scope in the index, choosing a page's ids never reads the table, so skipping to a
-- deep page walks index entries only (measured on 1M posts, page 500: 102 -> see BENCHMARKS.md).
DROP INDEX threads_by_activity;
CREATE INDEX threads_by_activity ON threads (subtopic_id, last_activity_at, id, pin_scope);
