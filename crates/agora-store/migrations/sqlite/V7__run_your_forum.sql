-- Paired with migrations/postgres/V7__run_your_forum.sql: what an operator sets from the
-- browser (issue 12). Settings, site files and setup tokens are forum-wide; the rest extends
-- the taxonomy and accounts.

-- The live site settings: one typed record (the JSON of agora's `SiteSettings`). `version`
-- grows with every save, so every node notices a change with one point read.
CREATE TABLE site_settings (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    body       TEXT    NOT NULL,
    version    BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL
);

-- Logo (light and dark) and favicon, re-encoded on upload; kept in the database so every
-- node serves them. `bytes` is base64 (the store's neutral values are text); `sha` names
-- the content for cache-busting URLs.
CREATE TABLE site_files (
    name         TEXT   PRIMARY KEY,
    content_type TEXT   NOT NULL,
    bytes        TEXT   NOT NULL,
    sha          TEXT   NOT NULL,
    updated_at   BIGINT NOT NULL
);

-- First-run setup links: the blake3 hash of each token printed at start-up while no
-- administrator exists. Creating the first administrator deletes them all.
CREATE TABLE setup_tokens (
    token_hash TEXT   PRIMARY KEY,
    expires_at BIGINT NOT NULL
);

-- Archived areas and subtopics are read-only and left off the home page.
ALTER TABLE areas ADD COLUMN archived_at BIGINT;
ALTER TABLE subtopics ADD COLUMN archived_at BIGINT;
-- Who may start threads: 'everyone', or 'staff' (announcements).
ALTER TABLE subtopics ADD COLUMN who_starts TEXT NOT NULL DEFAULT 'everyone'
    CHECK (who_starts IN ('everyone', 'staff'));
ALTER TABLE subtopics ADD COLUMN tags_required BOOLEAN NOT NULL DEFAULT TRUE;
-- The tags a subtopic allows; none listed: any tag.
CREATE TABLE subtopic_tags (
    subtopic_id INTEGER NOT NULL REFERENCES subtopics (id) ON DELETE CASCADE,
    tag_id      INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (subtopic_id, tag_id)
);

-- Old addresses that moved: kind 'area' (old area slug), 'subtopic' ('area/subtopic'),
-- 'tag' (old tag slug) → the id it names now. Followed with a 308.
CREATE TABLE slug_redirects (
    kind      TEXT   NOT NULL CHECK (kind IN ('area', 'subtopic', 'tag')),
    old_slug  TEXT   NOT NULL,
    target_id BIGINT NOT NULL,
    PRIMARY KEY (kind, old_slug)
);

-- What the demo wrote, so `agora demo remove` takes exactly that away.
CREATE TABLE demo_content (
    kind TEXT   NOT NULL CHECK (kind IN ('area', 'subtopic', 'tag', 'user', 'thread')),
    id   BIGINT NOT NULL,
    PRIMARY KEY (kind, id)
);

-- Accounts waiting for a moderator's approval (registration "by approval"), and the
-- account an anonymised one used to be (never shown; NULL for the rest).
ALTER TABLE users ADD COLUMN approved_at BIGINT;
ALTER TABLE users ADD COLUMN pending_approval BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN anonymised_at BIGINT;

-- Invitations by email (an invite-only forum). The token is sent, only its hash kept.
CREATE TABLE invitations (
    id          INTEGER PRIMARY KEY,
    email       TEXT    NOT NULL,
    email_key   TEXT    NOT NULL,
    role        TEXT    NOT NULL CHECK (role IN ('member', 'moderator', 'staff', 'admin')),
    token_hash  TEXT    NOT NULL UNIQUE,
    invited_by  INTEGER NOT NULL REFERENCES users (id),
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL,
    accepted_at BIGINT,
    accepted_by INTEGER REFERENCES users (id)
);
CREATE INDEX invitations_by_email ON invitations (email_key);

-- API tokens gain the 'admin' scope (the /api/v1/admin routes); SQLite cannot change a
-- CHECK in place, so the table is rebuilt with its rows and ids.
CREATE TABLE api_tokens_v7 (
    id           INTEGER PRIMARY KEY,
    token_hash   TEXT    NOT NULL UNIQUE,
    user_id      INTEGER NOT NULL REFERENCES users (id),
    name         TEXT    NOT NULL,
    scope        TEXT    NOT NULL CHECK (scope IN ('read', 'write', 'admin')),
    created_at   BIGINT  NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);
INSERT INTO api_tokens_v7 (id, token_hash, user_id, name, scope, created_at, last_used_at, revoked_at)
    SELECT id, token_hash, user_id, name, scope, created_at, last_used_at, revoked_at FROM api_tokens;
DROP TABLE api_tokens;
ALTER TABLE api_tokens_v7 RENAME TO api_tokens;
CREATE INDEX api_tokens_by_user ON api_tokens (user_id);
