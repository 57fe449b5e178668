-- Uploaded images and files. Paired by name with migrations/postgres/V18__uploads.sql.
--
-- An upload is one member's file, named in posts by its token (/uploads/TOKEN/NAME). Its bytes
-- live in the upload store (the data directory or an S3-compatible bucket) under their content
-- hash, so identical files are stored once however many uploads share them; its thumbnails
-- beside it. A row outlives its bytes: removed (by its owner or a moderator), the bytes go and
-- the posts that show it say "image removed".
CREATE TABLE uploads (
    id           INTEGER PRIMARY KEY,
    -- the public name in URLs: random, so one upload cannot be guessed from another
    token        TEXT    NOT NULL UNIQUE,
    -- users.id (no foreign key: an account deleted or anonymised leaves its posts' files)
    owner_id     BIGINT  NOT NULL,
    -- 'post' (for posts), 'avatar' (a member's picture)
    purpose      TEXT    NOT NULL CHECK (purpose IN ('post', 'avatar')),
    kind         TEXT    NOT NULL CHECK (kind IN ('image', 'file')),
    -- the file name as uploaded (any script), shown and sent as the download's name
    name         TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    -- BLAKE3 of the stored bytes, hex: the key in the upload store
    sha          TEXT    NOT NULL,
    bytes        BIGINT  NOT NULL,
    width        BIGINT  NOT NULL DEFAULT 0,
    height       BIGINT  NOT NULL DEFAULT 0,
    animated     BOOLEAN NOT NULL DEFAULT FALSE,
    -- the thumbnails made, as 'WIDTHxHEIGHT.EXT' separated by spaces, smallest first
    thumbnails   TEXT    NOT NULL DEFAULT '',
    created_at   BIGINT  NOT NULL,
    -- set when the owner deleted it or a moderator removed it (the bytes are gone then)
    removed_at   BIGINT,
    removed_by   BIGINT
);
-- A member's uploads, newest first; the day's total for the quota.
CREATE INDEX uploads_by_owner ON uploads (owner_id, created_at);
-- Whether other uploads still share a removed one's bytes.
CREATE INDEX uploads_by_sha ON uploads (sha);
-- The clean-up's scan of young uploads no post uses.
CREATE INDEX uploads_by_created ON uploads (created_at);

-- Which posts name which uploads: written with every post's text (new, edited, imported) in
-- the same transaction, and never taken back by an edit (older revisions still show them).
-- An upload no post has named a day after it was made is removed by the clean-up job.
CREATE TABLE post_uploads (
    post_id   BIGINT NOT NULL,
    upload_id BIGINT NOT NULL,
    PRIMARY KEY (post_id, upload_id)
);
CREATE INDEX post_uploads_by_upload ON post_uploads (upload_id);

-- A member's own picture (an avatar upload); NULL: the generated one.
ALTER TABLE users ADD COLUMN avatar_upload BIGINT;
