//! What an operator sets for the whole forum: the live settings record, the site's files
//! (logo, favicon), first-run setup tokens, and the demo's footprint (so it can be removed).

use crate::db::{Conn, params};
use crate::model::{Audit, ChangeKind, NewUser, Role, Timestamp, UserId};
use crate::postgres::PgConn;

use crate::{Backend, Store, StoreError, accounts, forum, queries, sqlite};

/// The stored settings record: the JSON the binary's `SiteSettings` writes, and its version
/// (grows with every save; 0 when nothing was ever saved).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettingsRow {
    pub body: String,
    pub version: i64,
}

/// A file the site shows (logo, favicon): already checked and re-encoded by the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteFile {
    pub name: String,
    pub content_type: String,
    /// The content, base64.
    pub bytes: String,
    /// A hash of the content: it names this version in URLs.
    pub sha: String,
}

/// A change to the site's files, saved with the settings that name them.
#[derive(Clone, Debug)]
pub enum FileChange {
    Put(SiteFile),
    Remove(String),
}

/// What `remove_demo` took away.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DemoRemoved {
    pub threads: u64,
    /// Demo threads kept because members wrote in them (their posts are theirs).
    pub kept_threads: u64,
    pub subtopics: u64,
    pub areas: u64,
    pub tags: u64,
    pub users: u64,
}

/// Serialises settings saves and first-run setups on PostgreSQL (SQLite's one writer already
/// does).
const SETTINGS_LOCK: &str = "SELECT pg_advisory_xact_lock(7243003)";

const ADMIN_EXISTS: &str =
    "SELECT 1 FROM users WHERE role = 'admin' AND password_hash IS NOT NULL LIMIT 1";

async fn admin_exists<C: Conn>(conn: &mut C) -> Result<bool, StoreError> {
    Ok(conn.query_opt(ADMIN_EXISTS, &[]).await?.is_some())
}

/// Marks everything in the forum as demo content (the demo is imported into an empty forum,
/// so everything there is the demo's).
pub(crate) async fn mark_all_as_demo<C: Conn>(conn: &mut C) -> Result<(), StoreError> {
    for (kind, table) in [
        ("area", "areas"),
        ("subtopic", "subtopics"),
        ("tag", "tags"),
        ("user", "users"),
        ("thread", "threads"),
    ] {
        conn.execute(
            &format!("INSERT INTO demo_content (kind, id) SELECT '{kind}', id FROM {table}"),
            &[],
        )
        .await?;
    }
    Ok(())
}

/// Demo rows still there, by kind, in the order they must go.
const DEMO_REMOVAL: &[&str] = &[
    // The demo's threads and everything hanging off their posts.
    "DELETE FROM flags WHERE post_id IN (SELECT p.id FROM posts p JOIN demo_content d \
       ON d.kind = 'thread' AND d.id = p.thread_id)",
    "DELETE FROM boosts WHERE post_id IN (SELECT p.id FROM posts p JOIN demo_content d \
       ON d.kind = 'thread' AND d.id = p.thread_id)",
    "DELETE FROM post_revisions WHERE post_id IN (SELECT p.id FROM posts p JOIN demo_content d \
       ON d.kind = 'thread' AND d.id = p.thread_id)",
    "DELETE FROM post_uploads WHERE post_id IN (SELECT p.id FROM posts p JOIN demo_content d \
       ON d.kind = 'thread' AND d.id = p.thread_id)",
    "DELETE FROM bookmarks WHERE thread_id IN (SELECT id FROM demo_content WHERE kind = 'thread')",
    "DELETE FROM posts WHERE thread_id IN (SELECT id FROM demo_content WHERE kind = 'thread')",
    "DELETE FROM thread_tags WHERE thread_id IN (SELECT id FROM demo_content WHERE kind = 'thread')",
    "DELETE FROM threads WHERE id IN (SELECT id FROM demo_content WHERE kind = 'thread')",
];

impl Store {
    /// The stored settings record, if one was ever saved.
    pub async fn site_settings(&self) -> Result<Option<SettingsRow>, StoreError> {
        read!(self, |conn| {
            match conn
                .query_opt("SELECT body, version FROM site_settings WHERE id = 1", &[])
                .await?
            {
                Some(row) => Ok(Some(SettingsRow {
                    body: row.text(0)?,
                    version: row.int(1)?,
                })),
                None => Ok(None),
            }
        })
    }

    /// The settings' version alone (0 when never saved): one point read, for nodes checking
    /// whether another node saved new settings.
    pub async fn settings_version(&self) -> Result<i64, StoreError> {
        read!(self, |conn| {
            match conn
                .query_opt("SELECT version FROM site_settings WHERE id = 1", &[])
                .await?
            {
                Some(row) => row.int(0),
                None => Ok(0),
            }
        })
    }

    /// Saves the settings record (and the files it names) in one transaction with its audit
    /// entry and a change-log entry; returns the new version. With `expected`, the save is
    /// refused (`Conflict { field: "version" }`, nothing written) unless the stored version
    /// is still that one: two administrators saving from the same page do not silently undo
    /// each other.
    pub async fn save_site_settings(
        &self,
        body: String,
        files: Vec<FileChange>,
        expected: Option<i64>,
        audit: Option<Audit>,
    ) -> Result<i64, StoreError> {
        write!(self, |conn| {
            let now = Timestamp::now().micros();
            if conn.dialect() == crate::db::Dialect::Postgres {
                // Saves (from any node) one at a time, so the version check holds.
                conn.query(SETTINGS_LOCK, &[]).await?;
            }
            let stored = match conn
                .query_opt("SELECT version FROM site_settings WHERE id = 1", &[])
                .await?
            {
                Some(row) => row.int(0)?,
                None => 0,
            };
            if expected.is_some_and(|e| e != stored) {
                return Err(StoreError::Conflict {
                    field: "version",
                    message: "Someone saved the settings while you were editing them: your \
                              changes are below, compare them with the current settings and \
                              save again."
                        .into(),
                });
            }
            for change in &files {
                match change {
                    FileChange::Put(file) => {
                        conn.execute(
                            "INSERT INTO site_files (name, content_type, bytes, sha, updated_at) \
                             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (name) DO UPDATE SET \
                             content_type = excluded.content_type, bytes = excluded.bytes, \
                             sha = excluded.sha, updated_at = excluded.updated_at",
                            params![&file.name, &file.content_type, &file.bytes, &file.sha, now],
                        )
                        .await?;
                    }
                    FileChange::Remove(name) => {
                        conn.execute("DELETE FROM site_files WHERE name = ?1", params![name])
                            .await?;
                    }
                }
            }
            let version = stored + 1;
            conn.execute(
                "INSERT INTO site_settings (id, body, version, updated_at) VALUES (1, ?1, ?2, ?3) \
                 ON CONFLICT (id) DO UPDATE SET body = excluded.body, version = excluded.version, \
                 updated_at = excluded.updated_at",
                params![&body, version, now],
            )
            .await?;
            if let Some(audit) = &audit {
                forum::record_audit(conn, audit).await?;
            }
            queries::append_change(
                conn,
                ChangeKind::SettingsChanged,
                audit.as_ref().map(|a| a.actor),
                None,
                None,
            )
            .await?;
            Ok(version)
        })
    }

    /// One of the site's files (logo, favicon).
    pub async fn site_file(&self, name: &str) -> Result<Option<SiteFile>, StoreError> {
        let name = name.to_string();
        read!(self, |conn| {
            match conn
                .query_opt(
                    "SELECT name, content_type, bytes, sha FROM site_files WHERE name = ?1",
                    params![&name],
                )
                .await?
            {
                Some(row) => Ok(Some(SiteFile {
                    name: row.text(0)?,
                    content_type: row.text(1)?,
                    bytes: row.text(2)?,
                    sha: row.text(3)?,
                })),
                None => Ok(None),
            }
        })
    }

    /// True while no administrator who can sign in exists: the forum needs its first-run
    /// setup. (The demo's administrator has no password, so it does not count.)
    pub async fn needs_setup(&self) -> Result<bool, StoreError> {
        read!(self, |conn| Ok(!admin_exists(conn).await?))
    }

    /// Records a setup token's hash, valid until `expires`.
    pub async fn add_setup_token(
        &self,
        token_hash: String,
        expires: Timestamp,
    ) -> Result<(), StoreError> {
        write!(self, |conn| {
            conn.execute(
                "DELETE FROM setup_tokens WHERE expires_at < ?1",
                params![Timestamp::now().micros()],
            )
            .await?;
            conn.execute(
                "INSERT INTO setup_tokens (token_hash, expires_at) VALUES (?1, ?2)",
                params![&token_hash, expires.micros()],
            )
            .await?;
            Ok(())
        })
    }

    /// The hashes of the setup tokens still valid at `now` (the caller compares in constant
    /// time).
    pub async fn live_setup_tokens(&self, now: Timestamp) -> Result<Vec<String>, StoreError> {
        read!(self, |conn| {
            conn.query(
                "SELECT token_hash FROM setup_tokens WHERE expires_at >= ?1",
                params![now.micros()],
            )
            .await?
            .iter()
            .map(|row| row.text(0))
            .collect()
        })
    }

    /// Creates the first administrator, if the setup token (by hash) is still valid and no
    /// administrator exists, and uses up every setup token: all in one transaction, so two
    /// browsers racing through setup make one administrator. `Conflict { field: "token" }`
    /// when the token is no longer good.
    pub async fn complete_setup(
        &self,
        token_hash: String,
        admin: NewUser,
    ) -> Result<UserId, StoreError> {
        write!(self, |conn| {
            if conn.dialect() == crate::db::Dialect::Postgres {
                // Two browsers finishing setup at once: one administrator, not two.
                conn.query(SETTINGS_LOCK, &[]).await?;
            }
            let live = conn
                .query_opt(
                    "SELECT 1 FROM setup_tokens WHERE token_hash = ?1 AND expires_at >= ?2",
                    params![&token_hash, Timestamp::now().micros()],
                )
                .await?
                .is_some();
            if !live || admin_exists(conn).await? {
                return Err(StoreError::Conflict {
                    field: "token",
                    message: "This setup link is used up or has expired.".into(),
                });
            }
            let mut admin = admin.clone();
            admin.role = Role::Admin;
            let id = accounts::create_user(conn, &admin).await?;
            conn.execute("DELETE FROM setup_tokens", &[]).await?;
            Ok(id)
        })
    }

    /// Whether any demo content is left.
    pub async fn has_demo(&self) -> Result<bool, StoreError> {
        read!(self, |conn| Ok(conn
            .query_opt("SELECT 1 FROM demo_content LIMIT 1", &[])
            .await?
            .is_some()))
    }

    /// Removes what the demo wrote and nothing else, in one transaction: its threads (but not
    /// those members wrote in: those stay, whole), then its subtopics,
    /// areas and tags that nothing else uses now, and its accounts that nobody claimed and
    /// nothing else refers to. Counters are recomputed; each removed thread goes into the
    /// change log so search indexes drop it.
    pub async fn remove_demo(&self, audit: Option<Audit>) -> Result<DemoRemoved, StoreError> {
        write!(self, |conn| {
            let actor = audit.as_ref().map(|a| a.actor);
            // A demo thread someone else wrote in is theirs too now: it stays (and with it
            // whatever it needs: its subtopic, tags and the demo accounts in it).
            let kept_threads = conn
                .execute(
                    "DELETE FROM demo_content WHERE kind = 'thread' AND id IN \
                     (SELECT p.thread_id FROM posts p WHERE p.author_id NOT IN \
                      (SELECT d.id FROM demo_content d WHERE d.kind = 'user'))",
                    &[],
                )
                .await?;
            let threads: Vec<i64> = conn
                .query(
                    "SELECT d.id FROM demo_content d JOIN threads t ON t.id = d.id \
                     WHERE d.kind = 'thread' ORDER BY d.id",
                    &[],
                )
                .await?
                .iter()
                .map(|row| row.int(0))
                .collect::<Result<_, _>>()?;
            for sql in DEMO_REMOVAL {
                conn.execute(sql, &[]).await?;
            }
            let mut removed = DemoRemoved {
                threads: threads.len() as u64,
                kept_threads,
                ..DemoRemoved::default()
            };
            removed.subtopics = conn
                .execute(
                    "DELETE FROM subtopics WHERE id IN (SELECT id FROM demo_content \
                     WHERE kind = 'subtopic') \
                     AND NOT EXISTS (SELECT 1 FROM threads t WHERE t.subtopic_id = subtopics.id)",
                    &[],
                )
                .await?;
            removed.areas = conn
                .execute(
                    "DELETE FROM areas WHERE id IN (SELECT id FROM demo_content WHERE kind = 'area') \
                     AND NOT EXISTS (SELECT 1 FROM subtopics s WHERE s.area_id = areas.id)",
                    &[],
                )
                .await?;
            removed.tags = conn
                .execute(
                    "DELETE FROM tags WHERE id IN (SELECT id FROM demo_content WHERE kind = 'tag') \
                     AND NOT EXISTS (SELECT 1 FROM thread_tags tt WHERE tt.tag_id = tags.id)",
                    &[],
                )
                .await?;
            removed.users = conn
                .execute(
                    "DELETE FROM users WHERE id IN (SELECT id FROM demo_content WHERE kind = 'user') \
                     AND password_hash IS NULL \
                     AND NOT EXISTS (SELECT 1 FROM posts p WHERE p.author_id = users.id OR p.deleted_by = users.id OR p.hidden_by = users.id) \
                     AND NOT EXISTS (SELECT 1 FROM threads t WHERE t.author_id = users.id OR t.last_poster_id = users.id OR t.locked_by = users.id) \
                     AND NOT EXISTS (SELECT 1 FROM post_revisions r WHERE r.author_id = users.id) \
                     AND NOT EXISTS (SELECT 1 FROM boosts b WHERE b.user_id = users.id) \
                     AND NOT EXISTS (SELECT 1 FROM flags f WHERE f.user_id = users.id OR f.resolved_by = users.id) \
                     AND NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.actor_id = users.id OR a.target_user = users.id) \
                     AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.user_id = users.id) \
                     AND NOT EXISTS (SELECT 1 FROM api_tokens k WHERE k.user_id = users.id) \
                     AND NOT EXISTS (SELECT 1 FROM drafts d WHERE d.user_id = users.id) \
                     AND NOT EXISTS (SELECT 1 FROM email_tokens e WHERE e.user_id = users.id) \
                     AND NOT EXISTS (SELECT 1 FROM invitations i WHERE i.invited_by = users.id OR i.accepted_by = users.id)",
                    &[],
                )
                .await?;
            conn.execute("DELETE FROM demo_content", &[]).await?;
            crate::check::recount(conn).await?;
            for thread in &threads {
                queries::append_change(
                    conn,
                    ChangeKind::ThreadRewritten,
                    actor,
                    Some(crate::model::ThreadId(*thread)),
                    None,
                )
                .await?;
            }
            queries::append_change(conn, ChangeKind::TaxonomyChanged, actor, None, None).await?;
            if let Some(audit) = &audit {
                forum::record_audit(conn, audit).await?;
            }
            Ok(removed)
        })
    }
}

/// What the admin dashboard shows about the forum's activity and health.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dashboard {
    /// (day number since the epoch, new members, new threads, new posts), oldest first,
    /// days with nothing left out.
    pub days: Vec<(i64, i64, i64, i64)>,
    pub members: i64,
    pub threads: i64,
    pub posts: i64,
    pub open_flags: i64,
    pub pending_approval: i64,
    /// Emails queued and not yet sent, and how many of those failed at least once (dead ones
    /// are counted apart, with every other dead job, by [`Store::job_health`]).
    pub email_queued: i64,
    pub email_retrying: i64,
    /// The database's size on disk, in bytes.
    pub database_bytes: i64,
}

const DAY_MICROS: i64 = 86_400_000_000;

impl Store {
    /// The dashboard's numbers, with activity per day since `since`. Activity is counted
    /// over the rows created since then (a scan of those tables: the dashboard is read
    /// rarely, so no index is kept for it on the write path).
    pub async fn dashboard(&self, since: Timestamp) -> Result<Dashboard, StoreError> {
        read!(self, |conn| {
            let since = since.micros();
            let mut days: std::collections::BTreeMap<i64, (i64, i64, i64)> = Default::default();
            for (slot, table) in [(0, "users"), (1, "threads"), (2, "posts")] {
                let rows = conn
                    .query(
                        &format!(
                            "SELECT created_at / {DAY_MICROS}, COUNT(*) FROM {table} \
                             WHERE created_at >= ?1 GROUP BY created_at / {DAY_MICROS}"
                        ),
                        params![since],
                    )
                    .await?;
                for row in rows {
                    let entry = days.entry(row.int(0)?).or_default();
                    let n = row.int(1)?;
                    match slot {
                        0 => entry.0 = n,
                        1 => entry.1 = n,
                        _ => entry.2 = n,
                    }
                }
            }
            let count = |row: Option<crate::db::Row>| -> Result<i64, StoreError> {
                row.map(|r| r.int(0)).transpose().map(|n| n.unwrap_or(0))
            };
            let members = count(conn.query_opt("SELECT COUNT(*) FROM users", &[]).await?)?;
            let threads = count(
                conn.query_opt("SELECT COUNT(*) FROM threads WHERE removed_at IS NULL", &[])
                    .await?,
            )?;
            let posts = count(conn.query_opt("SELECT COUNT(*) FROM posts", &[]).await?)?;
            let open_flags = count(
                conn.query_opt("SELECT COUNT(*) FROM flags WHERE resolved_at IS NULL", &[])
                    .await?,
            )?;
            let pending_approval = count(
                conn.query_opt(
                    "SELECT COUNT(*) FROM users WHERE pending_approval = TRUE",
                    &[],
                )
                .await?,
            )?;
            let email_queued = count(
                conn.query_opt(
                    "SELECT COUNT(*) FROM jobs WHERE done_at IS NULL AND failed_at IS NULL \
                     AND kind = 'email'",
                    &[],
                )
                .await?,
            )?;
            let email_retrying = count(
                conn.query_opt(
                    "SELECT COUNT(*) FROM jobs WHERE done_at IS NULL AND failed_at IS NULL \
                     AND kind = 'email' AND last_error IS NOT NULL",
                    &[],
                )
                .await?,
            )?;
            let size_sql = match conn.dialect() {
                crate::db::Dialect::Sqlite => {
                    "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"
                }
                crate::db::Dialect::Postgres => "SELECT pg_database_size(current_database())",
            };
            let database_bytes = count(conn.query_opt(size_sql, &[]).await?)?;
            Ok(Dashboard {
                days: days
                    .into_iter()
                    .map(|(day, (u, t, p))| (day, u, t, p))
                    .collect(),
                members,
                threads,
                posts,
                open_flags,
                pending_approval,
                email_queued,
                email_retrying,
                database_bytes,
            })
        })
    }
}
