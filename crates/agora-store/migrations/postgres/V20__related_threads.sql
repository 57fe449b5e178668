-- The threads shown under a thread as "Related threads", found by the search index and kept
-- here, so that a thread page reads them instead of running a search on every render (the
-- largest cost of an uncached thread page), on every node and after a restart. Paired by name
-- with migrations/sqlite/V20__related_threads.sql.
CREATE TABLE related_threads (
    thread_id   BIGINT  PRIMARY KEY,
    -- best first: "thread:post thread:post …", the post being the one that matched (a thread
    -- found only through a post hidden since is left out when shown)
    related     TEXT    NOT NULL,
    -- when they were found (µs); lists are found again when older than a week
    computed_at BIGINT  NOT NULL
);
CREATE INDEX related_threads_by_age ON related_threads (computed_at);
