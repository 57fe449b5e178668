//! Uploaded images and files: who uploaded what, which posts name it, and what the clean-up
//! may remove. The bytes themselves live in the upload store (see the binary's
//! `services::uploads`); a row here names them by content hash.
//!
//! A post names an upload by its URL, `/uploads/TOKEN/…`. Every write of a post's text (new,
//! edited, imported) records the uploads it names ([`link_uploads`]) in the same transaction,
//! so the clean-up of uploads no post uses can never remove one an acknowledged post shows.
//! Edits add names and never take them back: older revisions still show the old files.

use crate::StoreError;
use crate::db::{Conn, Query, Row, params};
use crate::model::{PostId, ThreadId, Timestamp, UserId};
use crate::queries::collect;

/// The URL path every upload is served under; a post names an upload by `/uploads/TOKEN`.
pub const UPLOADS_PATH: &str = "/uploads/";

/// The characters of a token: lower-case base32 (no 0, 1, 8, 9: never misread).
pub const TOKEN_ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
/// How long a token is: 80 random bits.
pub const TOKEN_CHARS: usize = 16;

/// What an upload is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UploadPurpose {
    /// Shown in posts (and kept only while a post names it).
    Post,
    /// A member's picture.
    Avatar,
}

impl UploadPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            UploadPurpose::Post => "post",
            UploadPurpose::Avatar => "avatar",
        }
    }
}

/// A new upload, its bytes already in the upload store.
#[derive(Clone, Debug)]
pub struct NewUpload {
    pub token: String,
    pub owner: UserId,
    pub purpose: UploadPurpose,
    pub image: bool,
    pub name: String,
    pub content_type: String,
    pub sha: String,
    pub bytes: i64,
    pub width: i64,
    pub height: i64,
    pub animated: bool,
    /// `WIDTHxHEIGHT.EXT` for each thumbnail, smallest first.
    pub thumbnails: Vec<String>,
}

/// A stored upload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadRow {
    pub id: i64,
    pub token: String,
    pub owner: UserId,
    pub purpose: UploadPurpose,
    pub image: bool,
    pub name: String,
    pub content_type: String,
    pub sha: String,
    pub bytes: i64,
    pub width: i64,
    pub height: i64,
    pub animated: bool,
    pub thumbnails: Vec<String>,
    pub created_at: Timestamp,
    /// When its owner deleted it or a moderator removed it: its bytes are gone.
    pub removed_at: Option<Timestamp>,
}

impl UploadRow {
    pub fn removed(&self) -> bool {
        self.removed_at.is_some()
    }
}

/// What removing an upload leaves to do outside the database.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RemovedUpload {
    /// The content hash whose bytes no upload needs any more (delete them from the store);
    /// None when another upload shares them, or nothing was removed.
    pub unshared_sha: Option<String>,
    /// The posts that show it (to render again, saying "image removed").
    pub posts: Vec<PostText>,
    /// Whether this call removed it (false: it was removed already, or is not there).
    pub removed: bool,
}

/// A post's text, to render again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostText {
    pub post: PostId,
    pub thread: ThreadId,
    pub body_md: String,
}

/// Totals for the dashboard and the metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UploadTotals {
    /// Uploads not removed.
    pub count: i64,
    /// Their bytes, counted once per upload (shared bytes count for each).
    pub bytes: i64,
    /// Distinct stored files (content hashes) and their bytes: what the store holds.
    pub stored_files: i64,
    pub stored_bytes: i64,
}

const COLUMNS: &str = "id, token, owner_id, purpose, kind, name, content_type, sha, bytes, \
     width, height, animated, thumbnails, created_at, removed_at";

fn read_upload(row: &Row) -> Result<UploadRow, StoreError> {
    Ok(UploadRow {
        id: row.int(0)?,
        token: row.text(1)?,
        owner: UserId(row.int(2)?),
        purpose: if row.text(3)? == "avatar" {
            UploadPurpose::Avatar
        } else {
            UploadPurpose::Post
        },
        image: row.text(4)? == "image",
        name: row.text(5)?,
        content_type: row.text(6)?,
        sha: row.text(7)?,
        bytes: row.int(8)?,
        width: row.int(9)?,
        height: row.int(10)?,
        animated: row.bool(11)?,
        thumbnails: row
            .text(12)?
            .split_whitespace()
            .map(str::to_string)
            .collect(),
        created_at: Timestamp::from_micros(row.int(13)?),
        removed_at: row.opt_int(14)?.map(Timestamp::from_micros),
    })
}

fn is_token_char(b: u8) -> bool {
    TOKEN_ALPHABET.contains(&b)
}

/// Whether `text` has the shape of an upload token.
pub fn is_token(text: &str) -> bool {
    text.len() == TOKEN_CHARS && text.bytes().all(is_token_char)
}

/// Every upload token a post's text names (`/uploads/TOKEN` followed by `/`, a quote, a
/// bracket, a space or the end), each once, in order of first appearance.
pub fn upload_tokens(text: &str) -> Vec<String> {
    let mut tokens: Vec<String> = Vec::new();
    for (at, _) in text.match_indices(UPLOADS_PATH) {
        let rest = &text.as_bytes()[at + UPLOADS_PATH.len()..];
        let len = rest.iter().take_while(|b| is_token_char(**b)).count();
        let ends = rest
            .get(len)
            .is_none_or(|b| !b.is_ascii_alphanumeric() && *b != b'_' && *b != b'-');
        if len == TOKEN_CHARS && ends {
            let token = String::from_utf8_lossy(&rest[..len]).into_owned();
            if !tokens.contains(&token) {
                tokens.push(token);
            }
        }
    }
    tokens
}

/// `?2, ?3, …` for `n` parameters after the first.
fn placeholders(n: usize, first: usize) -> String {
    (0..n)
        .map(|i| format!("?{}", i + first))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Records the uploads `body_md` names as used by `post`; call in the transaction that writes
/// the post's text. Names of uploads that do not exist are ignored.
pub async fn link_uploads<C: Conn>(
    conn: &mut C,
    post: PostId,
    body_md: &str,
) -> Result<(), StoreError> {
    if let Some(q) = link_query(post, body_md) {
        conn.execute(&q.sql, &q.params).await?;
    }
    Ok(())
}

/// The statement of [`link_uploads`], to send along with others: none when the text names no
/// upload.
pub(crate) fn link_query(post: PostId, body_md: &str) -> Option<Query> {
    let tokens = upload_tokens(body_md);
    if tokens.is_empty() {
        return None;
    }
    let sql = format!(
        "INSERT INTO post_uploads (post_id, upload_id) SELECT ?1, id FROM uploads \
         WHERE token IN ({}) ON CONFLICT DO NOTHING",
        placeholders(tokens.len(), 2)
    );
    let mut values = vec![crate::db::Value::Int(post.0)];
    values.extend(tokens.into_iter().map(crate::db::Value::Text));
    Some(Query::new(sql, &values))
}

pub async fn insert_upload<C: Conn>(
    conn: &mut C,
    new: &NewUpload,
    now: Timestamp,
) -> Result<UploadRow, StoreError> {
    let sql = format!(
        "INSERT INTO uploads (token, owner_id, purpose, kind, name, content_type, sha, bytes, \
         width, height, animated, thumbnails, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) RETURNING {COLUMNS}"
    );
    let row = conn
        .query_one(
            &sql,
            params![
                new.token.as_str(),
                new.owner.0,
                new.purpose.as_str(),
                if new.image { "image" } else { "file" },
                new.name.as_str(),
                new.content_type.as_str(),
                new.sha.as_str(),
                new.bytes,
                new.width,
                new.height,
                new.animated,
                new.thumbnails.join(" "),
                now.micros()
            ],
        )
        .await?;
    read_upload(&row)
}

pub async fn upload_by_token<C: Conn>(
    conn: &mut C,
    token: &str,
) -> Result<Option<UploadRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM uploads WHERE token = ?1");
    conn.query_opt(&sql, params![token])
        .await?
        .as_ref()
        .map(read_upload)
        .transpose()
}

pub async fn upload_by_id<C: Conn>(conn: &mut C, id: i64) -> Result<Option<UploadRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM uploads WHERE id = ?1");
    conn.query_opt(&sql, params![id])
        .await?
        .as_ref()
        .map(read_upload)
        .transpose()
}

/// The uploads of these tokens (those that exist), for rendering a post that names them.
pub async fn uploads_by_tokens<C: Conn>(
    conn: &mut C,
    tokens: &[String],
) -> Result<Vec<UploadRow>, StoreError> {
    if tokens.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM uploads WHERE token IN ({})",
        placeholders(tokens.len(), 1)
    );
    let values: Vec<crate::db::Value> = tokens
        .iter()
        .map(|t| crate::db::Value::Text(t.clone()))
        .collect();
    collect(conn.query(&sql, &values).await?, read_upload)
}

/// A member's uploads, newest first (removed ones too: they say so).
pub async fn uploads_of<C: Conn>(
    conn: &mut C,
    owner: UserId,
    limit: usize,
) -> Result<Vec<UploadRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM uploads WHERE owner_id = ?1 AND purpose = 'post' \
         ORDER BY created_at DESC, id DESC LIMIT {}",
        limit.max(1)
    );
    collect(conn.query(&sql, params![owner.0]).await?, read_upload)
}

/// The bytes `owner` uploaded since `since` (removed uploads count: deleting does not give
/// the day's quota back).
pub async fn uploaded_bytes_since<C: Conn>(
    conn: &mut C,
    owner: UserId,
    since: Timestamp,
) -> Result<i64, StoreError> {
    conn.query_one(
        "SELECT CAST(COALESCE(SUM(bytes), 0) AS BIGINT) FROM uploads \
         WHERE owner_id = ?1 AND created_at >= ?2",
        params![owner.0, since.micros()],
    )
    .await?
    .int(0)
}

/// Whether any upload not removed (other than `except`) keeps the bytes of `sha`.
pub async fn sha_in_use<C: Conn>(conn: &mut C, sha: &str, except: i64) -> Result<bool, StoreError> {
    Ok(conn
        .query_opt(
            "SELECT 1 FROM uploads WHERE sha = ?1 AND id <> ?2 AND removed_at IS NULL LIMIT 1",
            params![sha, except],
        )
        .await?
        .is_some())
}

/// Marks an upload removed (its owner deleted it, or a moderator `by` removed it) and says
/// what is left to do: the bytes to delete when nothing else shares them, and the posts to
/// render again. A member's picture that was this upload goes back to the generated one.
pub async fn remove_upload<C: Conn>(
    conn: &mut C,
    id: i64,
    by: UserId,
    now: Timestamp,
) -> Result<RemovedUpload, StoreError> {
    let Some(upload) = upload_by_id(conn, id).await? else {
        return Ok(RemovedUpload::default());
    };
    if upload.removed() {
        return Ok(RemovedUpload::default());
    }
    conn.execute(
        "UPDATE uploads SET removed_at = ?2, removed_by = ?3 WHERE id = ?1",
        params![id, now.micros(), by.0],
    )
    .await?;
    conn.execute(
        "UPDATE users SET avatar_upload = NULL WHERE avatar_upload = ?1",
        params![id],
    )
    .await?;
    let posts = collect(
        conn.query(
            "SELECT p.id, p.thread_id, p.body_md FROM post_uploads pu \
             JOIN posts p ON p.id = pu.post_id WHERE pu.upload_id = ?1 ORDER BY p.id",
            params![id],
        )
        .await?,
        |row| {
            Ok(PostText {
                post: PostId(row.int(0)?),
                thread: ThreadId(row.int(1)?),
                body_md: row.text(2)?,
            })
        },
    )?;
    let unshared_sha = (!sha_in_use(conn, &upload.sha, id).await?).then_some(upload.sha);
    Ok(RemovedUpload {
        unshared_sha,
        posts,
        removed: true,
    })
}

/// Uploads for posts that no post has named, made before `before`: the clean-up's work, oldest
/// first, at most `limit`.
pub async fn unused_uploads<C: Conn>(
    conn: &mut C,
    before: Timestamp,
    limit: usize,
) -> Result<Vec<UploadRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM uploads u WHERE u.created_at < ?1 AND u.purpose = 'post' \
         AND NOT EXISTS (SELECT 1 FROM post_uploads pu WHERE pu.upload_id = u.id) \
         ORDER BY u.created_at, u.id LIMIT {}",
        limit.max(1)
    );
    collect(
        conn.query(&sql, params![before.micros()]).await?,
        read_upload,
    )
}

/// Deletes an upload's row (an unused one, by the clean-up), saying whether its bytes may go
/// too: nothing else (removed or not) still names them.
pub async fn delete_upload_row<C: Conn>(
    conn: &mut C,
    id: i64,
) -> Result<Option<String>, StoreError> {
    let Some(upload) = upload_by_id(conn, id).await? else {
        return Ok(None);
    };
    conn.execute("DELETE FROM uploads WHERE id = ?1", params![id])
        .await?;
    let shared = conn
        .query_opt(
            "SELECT 1 FROM uploads WHERE sha = ?1 AND removed_at IS NULL LIMIT 1",
            params![upload.sha.as_str()],
        )
        .await?
        .is_some();
    Ok((!shared && !upload.removed()).then_some(upload.sha))
}

/// Sets (or clears) a member's picture; the previous one is marked removed, and its bytes
/// returned for deletion when nothing else shares them.
pub async fn set_avatar<C: Conn>(
    conn: &mut C,
    user: UserId,
    upload: Option<i64>,
    now: Timestamp,
) -> Result<Option<String>, StoreError> {
    let previous = conn
        .query_opt(
            "SELECT avatar_upload FROM users WHERE id = ?1",
            params![user.0],
        )
        .await?
        .map(|row| row.opt_int(0))
        .transpose()?
        .flatten();
    conn.execute(
        "UPDATE users SET avatar_upload = ?2 WHERE id = ?1",
        params![user.0, upload],
    )
    .await?;
    match previous {
        Some(old) if Some(old) != upload => {
            Ok(remove_upload(conn, old, user, now).await?.unshared_sha)
        }
        _ => Ok(None),
    }
}

/// The upload that is a member's picture, if they chose one.
pub async fn avatar_of<C: Conn>(
    conn: &mut C,
    user: UserId,
) -> Result<Option<UploadRow>, StoreError> {
    let sql = format!(
        "SELECT {} FROM uploads u JOIN users us ON us.avatar_upload = u.id WHERE us.id = ?1",
        COLUMNS
            .split(", ")
            .map(|c| format!("u.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    conn.query_opt(&sql, params![user.0])
        .await?
        .as_ref()
        .map(read_upload)
        .transpose()
}

/// An upload as the moderators' list shows it.
#[derive(Clone, Debug)]
pub struct UploadListed {
    pub upload: UploadRow,
    pub owner_name: String,
    /// Posts that name it.
    pub posts: i64,
}

/// The newest uploads for posts (before `before`, an upload id, when given), with their
/// owner and how many posts show each: the moderators' list.
pub async fn recent_uploads<C: Conn>(
    conn: &mut C,
    before: Option<i64>,
    limit: usize,
) -> Result<Vec<UploadListed>, StoreError> {
    let columns = COLUMNS
        .split(", ")
        .map(|c| format!("u.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {columns}, COALESCE(us.username, ''), \
         (SELECT COUNT(*) FROM post_uploads pu WHERE pu.upload_id = u.id) \
         FROM uploads u LEFT JOIN users us ON us.id = u.owner_id \
         WHERE u.purpose = 'post' AND u.id < ?1 ORDER BY u.id DESC LIMIT {}",
        limit.max(1)
    );
    collect(
        conn.query(&sql, params![before.unwrap_or(i64::MAX)])
            .await?,
        |row| {
            Ok(UploadListed {
                upload: read_upload(row)?,
                owner_name: row.text(15)?,
                posts: row.int(16)?,
            })
        },
    )
}

/// What the uploads hold, for the dashboard and the metrics.
pub async fn totals<C: Conn>(conn: &mut C) -> Result<UploadTotals, StoreError> {
    let all = conn
        .query_one(
            "SELECT COUNT(*), CAST(COALESCE(SUM(bytes), 0) AS BIGINT) FROM uploads \
             WHERE removed_at IS NULL",
            &[],
        )
        .await?;
    let stored = conn
        .query_one(
            "SELECT COUNT(*), CAST(COALESCE(SUM(bytes), 0) AS BIGINT) FROM \
             (SELECT sha, MAX(bytes) AS bytes FROM uploads WHERE removed_at IS NULL GROUP BY sha) s",
            &[],
        )
        .await?;
    Ok(UploadTotals {
        count: all.int(0)?,
        bytes: all.int(1)?,
        stored_files: stored.int(0)?,
        stored_bytes: stored.int(1)?,
    })
}

/// Writes posts' HTML rendered again (an upload they show was removed), telling the caches and
/// the search index through one `ThreadRewritten` entry per thread.
pub async fn set_posts_html<C: Conn>(
    conn: &mut C,
    posts: &[(PostText, String)],
    actor: Option<UserId>,
) -> Result<(), StoreError> {
    let mut threads: Vec<ThreadId> = Vec::new();
    for (post, html) in posts {
        conn.execute(
            "UPDATE posts SET body_html = ?2 WHERE id = ?1",
            params![post.post.0, html.as_str()],
        )
        .await?;
        if !threads.contains(&post.thread) {
            threads.push(post.thread);
        }
    }
    for thread in threads {
        crate::queries::append_change(
            conn,
            crate::model::ChangeKind::ThreadRewritten,
            actor,
            Some(thread),
            None,
        )
        .await?;
    }
    Ok(())
}

/// Every upload as the archive carries it (version 6), oldest first; owners and removers by
/// username (null when the account is gone).
pub async fn export_uploads<C: Conn>(
    conn: &mut C,
) -> Result<Vec<crate::archive::Upload>, StoreError> {
    let sql = format!(
        "SELECT {}, o.username, r.username FROM uploads u \
         LEFT JOIN users o ON o.id = u.owner_id LEFT JOIN users r ON r.id = u.removed_by \
         ORDER BY u.created_at, u.token",
        COLUMNS
            .split(", ")
            .map(|c| format!("u.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    collect(conn.query(&sql, &[]).await?, |row| {
        let upload = read_upload(row)?;
        let removed_by = row.opt_text(16)?;
        Ok(crate::archive::Upload {
            token: upload.token,
            owner: row.opt_text(15)?,
            purpose: upload.purpose,
            kind: if upload.image {
                crate::archive::UploadKind::Image
            } else {
                crate::archive::UploadKind::File
            },
            name: upload.name,
            content_type: upload.content_type,
            sha: upload.sha,
            bytes: upload.bytes,
            width: upload.width,
            height: upload.height,
            animated: upload.animated,
            thumbnails: upload.thumbnails,
            created_at: upload.created_at,
            removed: upload
                .removed_at
                .map(|at| crate::archive::UploadRemoval { at, by: removed_by }),
        })
    })
}

/// Writes an archive's uploads (their bytes already in the upload store) and the users'
/// pictures, after the users and before the posts, so that writing a post's text links the
/// uploads it names. An owner or remover the archive does not name is stored as no account
/// (id 0), as a deleted account's uploads are.
pub async fn import_uploads<C: Conn>(
    conn: &mut C,
    archive: &crate::archive::Archive,
    maps: &crate::queries::IdMaps,
) -> Result<(), StoreError> {
    let user_id = |name: &Option<String>| -> Result<i64, StoreError> {
        name.as_deref()
            .map_or(Ok(0), |name| maps.user(name).map(|(id, _)| id))
    };
    let mut ids = std::collections::HashMap::new();
    for upload in &archive.uploads {
        let removed_by = upload
            .removed
            .as_ref()
            .map(|r| user_id(&r.by))
            .transpose()?;
        let id = conn
            .query_one(
                "INSERT INTO uploads (token, owner_id, purpose, kind, name, content_type, sha, \
                 bytes, width, height, animated, thumbnails, created_at, removed_at, removed_by) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) \
                 RETURNING id",
                params![
                    upload.token.as_str(),
                    user_id(&upload.owner)?,
                    upload.purpose.as_str(),
                    match upload.kind {
                        crate::archive::UploadKind::Image => "image",
                        crate::archive::UploadKind::File => "file",
                    },
                    upload.name.as_str(),
                    upload.content_type.as_str(),
                    upload.sha.as_str(),
                    upload.bytes,
                    upload.width,
                    upload.height,
                    upload.animated,
                    upload.thumbnails.join(" "),
                    upload.created_at.micros(),
                    upload.removed.as_ref().map(|r| r.at.micros()),
                    removed_by
                ],
            )
            .await?
            .int(0)?;
        ids.insert(upload.token.as_str(), id);
    }
    for user in &archive.users {
        let Some(token) = &user.avatar else {
            continue;
        };
        let upload = *ids
            .get(token.as_str())
            .ok_or_else(|| StoreError::Invalid(format!("no upload {token:?}")))?;
        let (id, _) = maps.user(&user.username)?;
        conn.execute(
            "UPDATE users SET avatar_upload = ?2 WHERE id = ?1",
            params![id, upload],
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_found_where_posts_name_them() {
        let a = "abcdefghijkmnpqr";
        let b = "zz234567zz234567";
        let text = format!(
            "![shot](/uploads/{a}/shot.png) and [log](/uploads/{b}/crash.log) \
             again /uploads/{a}/t/800.webp, /uploads/{a}x/no, /uploads/short/x, \
             https://example.com/uploads/{b}"
        );
        assert_eq!(upload_tokens(&text), vec![a.to_string(), b.to_string()]);
        assert!(upload_tokens("/uploads/ABCDEFGHIJKMNPQR/x").is_empty());
        assert!(is_token(a));
        assert!(!is_token("abc"));
    }
}
