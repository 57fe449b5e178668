-- Content imported from another site (a Stack Exchange data dump), remembered by the source's
-- own ids. Paired by name with migrations/postgres/V17__import_sources.sql.
--
-- Importing the same source again skips every id found here, so a second run adds nothing and
-- a newer dump adds only what is new. A row outlives what it points at: a thread or post
-- removed here since is not imported again; an account deleted since is made again for the
-- source's new posts (its row is then pointed at the new account).
CREATE TABLE import_sources (
    -- where it came from: the site's host, e.g. 'history.meta.stackexchange.com'
    source    TEXT   NOT NULL,
    kind      TEXT   NOT NULL CHECK (kind IN ('user', 'thread', 'post')),
    -- the source's id: a Stack Exchange UserId, or the PostId of a question or answer
    source_id BIGINT NOT NULL,
    -- users.id, threads.id or posts.id
    local_id  BIGINT NOT NULL,
    PRIMARY KEY (source, kind, source_id)
);
-- Where a thread, post or account came from.
CREATE INDEX import_sources_by_local ON import_sources (kind, local_id);
