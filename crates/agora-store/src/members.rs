//! Looking after members: the staff directory (search, sort, filters, pages), the public
//! member directory, approving sign-ups, ending sessions, deleting and anonymising accounts,
//! and invitations by email. Every staff write is one transaction with its audit entry and its
//! change-log entries.

use crate::archive::{name_skeleton, username_key};
use crate::db::{Conn, Row, Value, params};
use crate::model::{Audit, ChangeKind, EmailPurpose, NewUser, Role, ThreadId, Timestamp, UserId};
use crate::postgres::PgConn;

use crate::{Backend, Store, StoreError, accounts, forum, queries, sqlite};

/// How the staff directory is ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MemberSort {
    /// Newest accounts first.
    #[default]
    Joined,
    /// Most recently seen first (an account never seen counts from when it joined).
    Seen,
    /// Most posts first.
    Posts,
    /// By username, A to Z.
    Name,
}

impl MemberSort {
    pub const ALL: [MemberSort; 4] = [
        MemberSort::Joined,
        MemberSort::Seen,
        MemberSort::Posts,
        MemberSort::Name,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MemberSort::Joined => "joined",
            MemberSort::Seen => "seen",
            MemberSort::Posts => "posts",
            MemberSort::Name => "name",
        }
    }

    pub fn parse(text: &str) -> Option<MemberSort> {
        MemberSort::ALL.into_iter().find(|s| s.as_str() == text)
    }

    fn order_by(self) -> &'static str {
        match self {
            MemberSort::Joined => "u.created_at DESC, u.id DESC",
            MemberSort::Seen => {
                "COALESCE((SELECT MAX(s.last_seen_at) FROM sessions s \
                 WHERE s.user_id = u.id), u.created_at) DESC, u.id DESC"
            }
            MemberSort::Posts => "u.post_count DESC, u.id ASC",
            MemberSort::Name => "u.username_key ASC, u.id ASC",
        }
    }
}

/// Which accounts the staff directory lists: every condition given must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemberQuery {
    /// A prefix of the username, display name or email address, any case.
    pub search: Option<String>,
    pub role: Option<Role>,
    pub suspended: bool,
    /// Joined in the last 7 days.
    pub new: bool,
    /// Has an email address not yet confirmed.
    pub unverified: bool,
    pub pending: bool,
    pub sort: MemberSort,
    /// Rows to skip and rows to return.
    pub offset: u64,
    pub limit: u32,
}

/// One account as staff see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberRow {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub staff_title: Option<String>,
    pub email: Option<String>,
    pub email_verified: bool,
    pub created_at: Timestamp,
    pub last_seen_at: Option<Timestamp>,
    pub thread_count: i64,
    pub post_count: i64,
    pub suspended_until: Option<Timestamp>,
    pub suspend_reason: Option<String>,
    pub pending_approval: bool,
    pub approved_at: Option<Timestamp>,
    pub anonymised_at: Option<Timestamp>,
}

/// One account in the public member directory (nothing private).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicMemberRow {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub staff_title: Option<String>,
    pub created_at: Timestamp,
    pub post_count: i64,
    /// Replies of theirs marked as a question's accepted answer.
    pub accepted_answers: i64,
}

/// How the public member directory is ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PublicMemberSort {
    /// Most posts first.
    #[default]
    Posts,
    /// Most accepted answers first.
    Answers,
    /// Newest accounts first.
    Joined,
}

impl PublicMemberSort {
    pub const ALL: [PublicMemberSort; 3] = [
        PublicMemberSort::Posts,
        PublicMemberSort::Answers,
        PublicMemberSort::Joined,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PublicMemberSort::Posts => "posts",
            PublicMemberSort::Answers => "answers",
            PublicMemberSort::Joined => "joined",
        }
    }

    pub fn parse(text: &str) -> Option<PublicMemberSort> {
        PublicMemberSort::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// Which members the public directory lists, in which order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PublicMemberQuery {
    /// A prefix of the username or display name, any case.
    pub search: Option<String>,
    pub sort: PublicMemberSort,
    pub offset: u64,
    pub limit: u32,
}

/// What deleting an account took away.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemberDeleted {
    /// Threads they started (with every reply in them).
    pub threads: u64,
    /// Their replies in other threads.
    pub replies: u64,
}

/// An invitation to be stored: the token's hash only.
#[derive(Clone, Debug)]
pub struct NewInvitation {
    pub email: String,
    pub role: Role,
    pub token_hash: String,
    pub invited_by: UserId,
    pub expires_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvitationRow {
    pub id: i64,
    pub email: String,
    pub role: Role,
    /// The inviting account's username.
    pub invited_by: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub accepted_at: Option<Timestamp>,
    /// The account made from it.
    pub accepted_by: Option<String>,
}

const MEMBER_COLUMNS: &str = "u.id, u.username, u.display_name, u.role, u.staff_title, u.email, \
     u.email_verified_at IS NOT NULL, u.created_at, \
     (SELECT MAX(s.last_seen_at) FROM sessions s WHERE s.user_id = u.id), \
     u.thread_count, u.post_count, u.suspended_until, u.suspend_reason, u.pending_approval, \
     u.approved_at, u.anonymised_at";

fn read_member(row: &Row) -> Result<MemberRow, StoreError> {
    let time = |t: Option<i64>| t.map(Timestamp::from_micros);
    Ok(MemberRow {
        id: UserId(row.int(0)?),
        username: row.text(1)?,
        display_name: row.text(2)?,
        role: row.parse(3)?,
        staff_title: row.opt_text(4)?,
        email: row.opt_text(5)?,
        email_verified: row.bool(6)?,
        created_at: Timestamp::from_micros(row.int(7)?),
        last_seen_at: time(row.opt_int(8)?),
        thread_count: row.int(9)?,
        post_count: row.int(10)?,
        suspended_until: time(row.opt_int(11)?),
        suspend_reason: row.opt_text(12)?,
        pending_approval: row.bool(13)?,
        approved_at: time(row.opt_int(14)?),
        anonymised_at: time(row.opt_int(15)?),
    })
}

/// A LIKE pattern matching what starts with `prefix` (its own `%`, `_` and `\` taken
/// literally).
fn prefix_pattern(prefix: &str) -> String {
    let mut pattern = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// One member's accepted answers (`u`): their posts, each checked against its thread.
const ANSWERS_OF_U: &str = "(SELECT COUNT(*) FROM posts p JOIN threads t ON t.id = p.thread_id \
     WHERE p.author_id = u.id AND t.accepted_post_id = p.id)";

const WEEK_MICROS: i64 = 7 * 86_400_000_000;

/// The WHERE clause of a directory query and its parameters (numbered from 1).
fn member_filter(query: &MemberQuery, now: Timestamp) -> (String, Vec<Value>) {
    let mut clauses = vec!["TRUE".to_string()];
    let mut values: Vec<Value> = Vec::new();
    fn bind(value: Value, values: &mut Vec<Value>) -> String {
        values.push(value);
        format!("?{}", values.len())
    }
    if let Some(search) = query
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let p = bind(prefix_pattern(&search.to_lowercase()).into(), &mut values);
        clauses.push(format!(
            "(u.username_key LIKE {p} ESCAPE '\\' OR LOWER(u.display_name) LIKE {p} ESCAPE '\\' \
             OR u.email_key LIKE {p} ESCAPE '\\')"
        ));
    }
    if let Some(role) = query.role {
        let p = bind(role.as_str().into(), &mut values);
        clauses.push(format!("u.role = {p}"));
    }
    if query.suspended {
        let p = bind(now.micros().into(), &mut values);
        clauses.push(format!("u.suspended_until > {p}"));
    }
    if query.new {
        let p = bind((now.micros() - WEEK_MICROS).into(), &mut values);
        clauses.push(format!("u.created_at > {p}"));
    }
    if query.unverified {
        clauses.push("u.email IS NOT NULL AND u.email_verified_at IS NULL".into());
    }
    if query.pending {
        clauses.push("u.pending_approval = TRUE".into());
    }
    (clauses.join(" AND "), values)
}

/// Ids of the threads holding posts `user` wrote.
async fn threads_with_posts_by<C: Conn>(
    conn: &mut C,
    user: UserId,
) -> Result<Vec<i64>, StoreError> {
    conn.query(
        "SELECT DISTINCT thread_id FROM posts WHERE author_id = ?1 ORDER BY thread_id",
        params![user.0],
    )
    .await?
    .iter()
    .map(|row| row.int(0))
    .collect()
}

/// Ends every session, revokes every API token and uses up every emailed link of `user`.
async fn shut_out<C: Conn>(conn: &mut C, user: UserId) -> Result<u64, StoreError> {
    let ended = accounts::end_sessions(conn, user, None, None).await?;
    accounts::revoke_api_tokens(conn, user).await?;
    conn.execute(
        "DELETE FROM email_tokens WHERE user_id = ?1",
        params![user.0],
    )
    .await?;
    Ok(ended)
}

/// What keeps an account from being deleted: staff history the audit trail must keep.
const STAFF_HISTORY: &str = "SELECT 1 FROM audit_log WHERE actor_id = ?1 \
       AND (target_user IS NULL OR target_user <> ?1) \
     UNION ALL SELECT 1 FROM invitations WHERE invited_by = ?1 \
     UNION ALL SELECT 1 FROM post_revisions r JOIN posts p ON p.id = r.post_id \
       WHERE r.author_id = ?1 AND p.author_id <> ?1";

/// Deleting an account, in order: its threads with everything in them, its replies elsewhere
/// with what hangs off them, what it gave (boosts, flags), and every sign-in it had. `?1` is
/// the account.
const DELETE_MEMBER: &[&str] = &[
    // The operator's entries about this account name it as their actor (an operator has no
    // account): they go with it; its deletion is recorded.
    "DELETE FROM audit_log WHERE actor_id = ?1",
    // Boosts it gave: the boosted posts count one fewer.
    "UPDATE posts SET boost_count = boost_count - 1 \
       WHERE id IN (SELECT post_id FROM boosts WHERE user_id = ?1)",
    "DELETE FROM boosts WHERE user_id = ?1",
    "DELETE FROM flags WHERE user_id = ?1",
    // Everything hanging off its posts and the posts in its threads.
    "DELETE FROM notifications WHERE thread_id IN (SELECT id FROM threads WHERE author_id = ?1) \
       OR post_id IN (SELECT id FROM posts WHERE author_id = ?1)",
    "DELETE FROM watches WHERE target_kind = 'thread' AND target_id IN \
       (SELECT id FROM threads WHERE author_id = ?1)",
    "DELETE FROM bookmarks WHERE thread_id IN (SELECT id FROM threads WHERE author_id = ?1) \
       OR post_id IN (SELECT id FROM posts WHERE author_id = ?1)",
    "DELETE FROM flags WHERE post_id IN (SELECT p.id FROM posts p JOIN threads t \
       ON t.id = p.thread_id WHERE t.author_id = ?1 OR p.author_id = ?1)",
    "DELETE FROM boosts WHERE post_id IN (SELECT p.id FROM posts p JOIN threads t \
       ON t.id = p.thread_id WHERE t.author_id = ?1 OR p.author_id = ?1)",
    "DELETE FROM post_revisions WHERE post_id IN (SELECT p.id FROM posts p JOIN threads t \
       ON t.id = p.thread_id WHERE t.author_id = ?1 OR p.author_id = ?1)",
    // Its replies can no longer be anyone's answer.
    "UPDATE threads SET accepted_post_id = NULL WHERE accepted_post_id IN \
       (SELECT id FROM posts WHERE author_id = ?1)",
    "UPDATE threads SET recommended_post_id = NULL WHERE recommended_post_id IN \
       (SELECT id FROM posts WHERE author_id = ?1)",
    "DELETE FROM posts WHERE thread_id IN (SELECT id FROM threads WHERE author_id = ?1)",
    "DELETE FROM thread_tags WHERE thread_id IN (SELECT id FROM threads WHERE author_id = ?1)",
    "DELETE FROM demo_content WHERE kind = 'thread' AND id IN \
       (SELECT id FROM threads WHERE author_id = ?1)",
    "DELETE FROM threads WHERE author_id = ?1",
    "DELETE FROM posts WHERE author_id = ?1",
    // Where it was the last to post, the last remaining post speaks for the thread.
    "UPDATE threads SET \
       last_poster_id = (SELECT p.author_id FROM posts p WHERE p.thread_id = threads.id \
         ORDER BY p.position DESC LIMIT 1), \
       last_activity_at = (SELECT p.created_at FROM posts p WHERE p.thread_id = threads.id \
         ORDER BY p.position DESC LIMIT 1) \
       WHERE last_poster_id = ?1",
    // References that may be empty now.
    "UPDATE posts SET deleted_by = NULL WHERE deleted_by = ?1",
    "UPDATE posts SET hidden_by = NULL WHERE hidden_by = ?1",
    "UPDATE threads SET locked_by = NULL WHERE locked_by = ?1",
    "UPDATE flags SET resolved_by = NULL WHERE resolved_by = ?1",
    "UPDATE audit_log SET target_user = NULL WHERE target_user = ?1",
    "UPDATE invitations SET accepted_by = NULL WHERE accepted_by = ?1",
    "DELETE FROM sessions WHERE user_id = ?1",
    "DELETE FROM api_tokens WHERE user_id = ?1",
    "DELETE FROM email_tokens WHERE user_id = ?1",
    "DELETE FROM drafts WHERE user_id = ?1",
    "DELETE FROM notifications WHERE user_id = ?1",
    "UPDATE notifications SET actor_id = NULL WHERE actor_id = ?1",
    "DELETE FROM watches WHERE user_id = ?1",
    "DELETE FROM notify_prefs WHERE user_id = ?1",
    "DELETE FROM unsubscribe_tokens WHERE user_id = ?1",
    "DELETE FROM bookmarks WHERE user_id = ?1",
    "DELETE FROM demo_content WHERE kind = 'user' AND id = ?1",
    "DELETE FROM users WHERE id = ?1",
];

const INVITATION_COLUMNS: &str = "i.id, i.email, i.role, b.username, i.created_at, \
     i.expires_at, i.accepted_at, a.username";

fn read_invitation(row: &Row) -> Result<InvitationRow, StoreError> {
    Ok(InvitationRow {
        id: row.int(0)?,
        email: row.text(1)?,
        role: row.parse(2)?,
        invited_by: row.text(3)?,
        created_at: Timestamp::from_micros(row.int(4)?),
        expires_at: Timestamp::from_micros(row.int(5)?),
        accepted_at: row.opt_int(6)?.map(Timestamp::from_micros),
        accepted_by: row.opt_text(7)?,
    })
}

impl Store {
    /// One page of the staff directory and how many accounts match in all.
    pub async fn members(&self, query: MemberQuery) -> Result<(Vec<MemberRow>, i64), StoreError> {
        read!(self, |conn| {
            let (filter, mut values) = member_filter(&query, Timestamp::now());
            let total = conn
                .query_one(
                    &format!("SELECT COUNT(*) FROM users u WHERE {filter}"),
                    &values,
                )
                .await?
                .int(0)?;
            values.push(Value::Int(i64::try_from(query.offset).unwrap_or(i64::MAX)));
            // The limit is written in (see ARCHITECTURE: SQL that SQLite re-plans).
            let sql = format!(
                "SELECT {MEMBER_COLUMNS} FROM users u WHERE {filter} ORDER BY {} \
                 LIMIT {} OFFSET ?{}",
                query.sort.order_by(),
                query.limit.max(1),
                values.len()
            );
            let rows = conn.query(&sql, &values).await?;
            let members = rows.iter().map(read_member).collect::<Result<_, _>>()?;
            Ok((members, total))
        })
    }

    /// One account as staff see it, by username (any case).
    pub async fn member(&self, username: &str) -> Result<Option<MemberRow>, StoreError> {
        let key = username_key(username);
        read!(self, |conn| {
            let sql = format!("SELECT {MEMBER_COLUMNS} FROM users u WHERE u.username_key = ?1");
            conn.query_opt(&sql, params![&key])
                .await?
                .map(|row| read_member(&row))
                .transpose()
        })
    }

    /// One page of the public member directory (anonymised accounts and sign-ups awaiting
    /// approval are left out), and how many it lists in all.
    pub async fn public_members(
        &self,
        query: PublicMemberQuery,
    ) -> Result<(Vec<PublicMemberRow>, i64), StoreError> {
        read!(self, |conn| {
            let mut listed = "u.anonymised_at IS NULL AND u.pending_approval = FALSE".to_string();
            let mut values: Vec<Value> = Vec::new();
            if let Some(search) = query
                .search
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
            {
                values.push(prefix_pattern(&search.to_lowercase()).into());
                listed.push_str(
                    " AND (u.username_key LIKE ?1 ESCAPE '\\' \
                     OR LOWER(u.display_name) LIKE ?1 ESCAPE '\\')",
                );
            }
            let total = conn
                .query_one(
                    &format!("SELECT COUNT(*) FROM users u WHERE {listed}"),
                    &values,
                )
                .await?
                .int(0)?;
            // Accepted answers: by the answers sort, one pass over the solved threads (the
            // partial index `threads_accepted`); otherwise, for the page's members only, their
            // posts (by the author index) each checked against its thread (by primary key).
            let (answers, join, order) = match query.sort {
                PublicMemberSort::Answers => (
                    "COALESCE(acc.n, 0)",
                    "LEFT JOIN (SELECT p.author_id AS id, COUNT(*) AS n FROM threads t \
                     JOIN posts p ON p.id = t.accepted_post_id \
                     WHERE t.accepted_post_id IS NOT NULL GROUP BY p.author_id) acc \
                     ON acc.id = u.id",
                    "COALESCE(acc.n, 0) DESC, u.post_count DESC, u.id ASC",
                ),
                PublicMemberSort::Posts => (ANSWERS_OF_U, "", "u.post_count DESC, u.id ASC"),
                PublicMemberSort::Joined => (ANSWERS_OF_U, "", "u.created_at DESC, u.id DESC"),
            };
            values.push(Value::Int(i64::try_from(query.offset).unwrap_or(i64::MAX)));
            let sql = format!(
                "SELECT u.username, u.display_name, u.role, u.staff_title, u.created_at, \
                 u.post_count, {answers} FROM users u {join} WHERE {listed} ORDER BY {order} \
                 LIMIT {} OFFSET ?{}",
                query.limit.max(1),
                values.len()
            );
            let rows = conn.query(&sql, &values).await?;
            let members = rows
                .iter()
                .map(|row| {
                    Ok(PublicMemberRow {
                        username: row.text(0)?,
                        display_name: row.text(1)?,
                        role: row.parse(2)?,
                        staff_title: row.opt_text(3)?,
                        created_at: Timestamp::from_micros(row.int(4)?),
                        post_count: row.int(5)?,
                        accepted_answers: row.int(6)?,
                    })
                })
                .collect::<Result<_, StoreError>>()?;
            Ok((members, total))
        })
    }

    /// Creates an account that may not post until a moderator approves it (registration by
    /// approval).
    pub async fn create_pending_user(&self, user: NewUser) -> Result<UserId, StoreError> {
        write!(self, |conn| {
            let id = accounts::create_user(conn, &user).await?;
            conn.execute(
                "UPDATE users SET pending_approval = TRUE WHERE id = ?1",
                params![id.0],
            )
            .await?;
            Ok(id)
        })
    }

    /// Approves a sign-up: the account may post from now on. False when it was not waiting.
    pub async fn approve_member(&self, user: UserId, audit: Audit) -> Result<bool, StoreError> {
        write!(self, |conn| {
            let changed = conn
                .execute(
                    "UPDATE users SET pending_approval = FALSE, approved_at = ?2 \
                     WHERE id = ?1 AND pending_approval = TRUE",
                    params![user.0, Timestamp::now().micros()],
                )
                .await?;
            if changed == 0 {
                return Ok(false);
            }
            forum::record_audit(conn, &audit).await?;
            queries::append_change(
                conn,
                ChangeKind::UserProfileUpdated,
                Some(audit.actor),
                None,
                None,
            )
            .await?;
            Ok(true)
        })
    }

    /// Stores a one-time emailed link a staff member sent (a password reset), queues its email,
    /// and records who sent it, together.
    pub async fn create_email_token_audited(
        &self,
        user: UserId,
        purpose: EmailPurpose,
        token_hash: &str,
        expires_at: Timestamp,
        email_job: String,
        audit: Audit,
    ) -> Result<(), StoreError> {
        let hash = token_hash.to_string();
        write!(self, |conn| {
            accounts::create_email_token(conn, user, purpose, &hash, expires_at).await?;
            queries::enqueue_job(conn, "email", &email_job, Timestamp::now()).await?;
            forum::record_audit(conn, &audit).await
        })
    }

    /// An administrator gives an account a role and staff title, audited, with the
    /// administrator in the change log.
    pub async fn set_member_role(
        &self,
        user: UserId,
        role: Role,
        staff_title: Option<String>,
        audit: Audit,
    ) -> Result<(), StoreError> {
        write!(self, |conn| {
            accounts::set_role(conn, user, role, staff_title.as_deref(), Some(audit.actor)).await?;
            forum::record_audit(conn, &audit).await
        })
    }

    /// Ends every session of an account; returns how many there were.
    pub async fn end_member_sessions(&self, user: UserId, audit: Audit) -> Result<u64, StoreError> {
        write!(self, |conn| {
            let ended = accounts::end_sessions(conn, user, None, None).await?;
            forum::record_audit(conn, &audit).await?;
            Ok(ended)
        })
    }

    /// Sets an account's display name (the operator's `agora user set-name`, or an admin);
    /// the threads holding its posts are indexed again.
    pub async fn set_display_name(
        &self,
        user: UserId,
        display_name: String,
        audit: Audit,
        actor: Option<UserId>,
    ) -> Result<(), StoreError> {
        write!(self, |conn| {
            conn.execute(
                "UPDATE users SET display_name = ?2 WHERE id = ?1",
                params![user.0, &display_name],
            )
            .await?;
            forum::record_audit(conn, &audit).await?;
            queries::append_change(conn, ChangeKind::UserProfileUpdated, actor, None, None).await?;
            for thread in threads_with_posts_by(conn, user).await? {
                queries::append_change(
                    conn,
                    ChangeKind::ThreadRewritten,
                    actor,
                    Some(ThreadId(thread)),
                    None,
                )
                .await?;
            }
            Ok(())
        })
    }

    /// Anonymises an account: its posts stay, under `anonymous-<id>` and the display name
    /// "anonymous"; its email, password, signature and staff title go, every session, token and
    /// emailed link ends. Every thread holding its posts goes into the change log, so search
    /// indexes forget the old name.
    pub async fn anonymise_member(
        &self,
        user: UserId,
        audit: Audit,
        actor: Option<UserId>,
    ) -> Result<(), StoreError> {
        write!(self, |conn| {
            let username = format!("anonymous-{}", user.0);
            conn.execute(
                "UPDATE users SET username = ?2, username_key = ?3, name_skeleton = ?4, \
                 display_name = 'anonymous', email = NULL, email_key = NULL, \
                 email_verified_at = NULL, password_hash = NULL, signature_md = '', \
                 signature_html = '', staff_title = NULL, \
                 pending_approval = FALSE, anonymised_at = ?5 WHERE id = ?1",
                params![
                    user.0,
                    &username,
                    username_key(&username),
                    name_skeleton(&username),
                    Timestamp::now().micros()
                ],
            )
            .await?;
            shut_out(conn, user).await?;
            // What it was writing is its own and goes with its name.
            for private in [
                "DELETE FROM drafts WHERE user_id = ?1",
                "DELETE FROM notifications WHERE user_id = ?1",
                "DELETE FROM watches WHERE user_id = ?1",
                "DELETE FROM notify_prefs WHERE user_id = ?1",
                "DELETE FROM unsubscribe_tokens WHERE user_id = ?1",
                "DELETE FROM bookmarks WHERE user_id = ?1",
            ] {
                conn.execute(private, params![user.0]).await?;
            }
            forum::record_audit(conn, &audit).await?;
            queries::append_change(conn, ChangeKind::UserRemoved, actor, None, None).await?;
            for thread in threads_with_posts_by(conn, user).await? {
                queries::append_change(
                    conn,
                    ChangeKind::ThreadRewritten,
                    actor,
                    Some(ThreadId(thread)),
                    None,
                )
                .await?;
            }
            Ok(())
        })
    }

    /// Deletes an account and what it wrote: the threads it started (with every reply in
    /// them), its replies elsewhere, the boosts and flags it gave, its sessions, tokens and
    /// links. Counters are recomputed; every thread that lost posts goes into the change log.
    /// An account the audit trail names as acting (a moderator's, an inviter's, an editor of
    /// others' posts) is refused with a `Conflict`: anonymise it instead, so the record stays
    /// true. `audit` (None for the operator, whose entry could name no account) is written
    /// without a target, the account being gone.
    pub async fn delete_member(
        &self,
        user: UserId,
        audit: Option<Audit>,
        actor: Option<UserId>,
    ) -> Result<MemberDeleted, StoreError> {
        write!(self, |conn| {
            if conn
                .query_opt(&format!("{STAFF_HISTORY} LIMIT 1"), params![user.0])
                .await?
                .is_some()
            {
                return Err(StoreError::Conflict {
                    field: "confirm",
                    message: "This account acted as staff (the audit log or a post's history \
                              names it), so deleting it would rewrite that record: anonymise it \
                              instead."
                        .into(),
                });
            }
            let own: Vec<i64> = conn
                .query(
                    "SELECT id FROM threads WHERE author_id = ?1 ORDER BY id",
                    params![user.0],
                )
                .await?
                .iter()
                .map(|row| row.int(0))
                .collect::<Result<_, _>>()?;
            let touched = threads_with_posts_by(conn, user).await?;
            let replies = conn
                .query_one(
                    "SELECT COUNT(*) FROM posts p JOIN threads t ON t.id = p.thread_id \
                     WHERE p.author_id = ?1 AND t.author_id <> ?1",
                    params![user.0],
                )
                .await?
                .int(0)?;
            for sql in DELETE_MEMBER {
                conn.execute(sql, params![user.0]).await?;
            }
            // Threads that lost a last reply: their tag rows carry the new last activity.
            for thread in touched.iter().filter(|t| !own.contains(t)) {
                conn.execute(
                    "UPDATE thread_tags SET last_activity_at = (SELECT t.last_activity_at \
                     FROM threads t WHERE t.id = thread_tags.thread_id) WHERE thread_id = ?1",
                    params![*thread],
                )
                .await?;
            }
            crate::check::recount(conn).await?;
            let mut threads: Vec<i64> = own.iter().chain(&touched).copied().collect();
            threads.sort_unstable();
            threads.dedup();
            for thread in threads {
                queries::append_change(
                    conn,
                    ChangeKind::ThreadRewritten,
                    actor,
                    Some(ThreadId(thread)),
                    None,
                )
                .await?;
            }
            queries::append_change(conn, ChangeKind::UserRemoved, actor, None, None).await?;
            if let Some(audit) = &audit {
                forum::record_audit(conn, audit).await?;
            }
            Ok(MemberDeleted {
                threads: own.len() as u64,
                replies: u64::try_from(replies).unwrap_or(0),
            })
        })
    }

    /// Stores an invitation and queues the email that carries its link, together.
    pub async fn create_invitation(
        &self,
        invitation: NewInvitation,
        audit: Audit,
        email_job: String,
    ) -> Result<i64, StoreError> {
        write!(self, |conn| {
            let now = Timestamp::now();
            let id = conn
                .query_one(
                    "INSERT INTO invitations (email, email_key, role, token_hash, invited_by, \
                     created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
                    params![
                        invitation.email.trim(),
                        accounts::email_key(&invitation.email),
                        invitation.role.as_str(),
                        &invitation.token_hash,
                        invitation.invited_by.0,
                        now.micros(),
                        invitation.expires_at.micros()
                    ],
                )
                .await?
                .int(0)?;
            forum::record_audit(conn, &audit).await?;
            queries::enqueue_job(conn, "email", &email_job, now).await?;
            Ok(id)
        })
    }

    /// Invitations, newest first (at most `limit`).
    pub async fn invitations(&self, limit: u32) -> Result<Vec<InvitationRow>, StoreError> {
        read!(self, |conn| {
            let sql = format!(
                "SELECT {INVITATION_COLUMNS} FROM invitations i \
                 JOIN users b ON b.id = i.invited_by LEFT JOIN users a ON a.id = i.accepted_by \
                 ORDER BY i.id DESC LIMIT {}",
                limit.max(1)
            );
            conn.query(&sql, &[])
                .await?
                .iter()
                .map(read_invitation)
                .collect()
        })
    }

    /// Whether an address has an invitation not yet used nor expired.
    pub async fn open_invitation_for(&self, email: &str) -> Result<bool, StoreError> {
        let key = accounts::email_key(email);
        read!(self, |conn| Ok(conn
            .query_opt(
                "SELECT 1 FROM invitations WHERE email_key = ?1 AND accepted_at IS NULL \
                 AND expires_at > ?2",
                params![&key, Timestamp::now().micros()],
            )
            .await?
            .is_some()))
    }

    /// The invitation a link's token (by hash) names, while it can still be used.
    pub async fn live_invitation(
        &self,
        token_hash: &str,
    ) -> Result<Option<InvitationRow>, StoreError> {
        let hash = token_hash.to_string();
        read!(self, |conn| {
            let sql = format!(
                "SELECT {INVITATION_COLUMNS} FROM invitations i \
                 JOIN users b ON b.id = i.invited_by LEFT JOIN users a ON a.id = i.accepted_by \
                 WHERE i.token_hash = ?1 AND i.accepted_at IS NULL AND i.expires_at > ?2"
            );
            conn.query_opt(&sql, params![&hash, Timestamp::now().micros()])
                .await?
                .map(|row| read_invitation(&row))
                .transpose()
        })
    }

    /// Withdraws an invitation not yet used (it can no longer be accepted). False when there
    /// is no such open invitation.
    pub async fn revoke_invitation(&self, id: i64, audit: Audit) -> Result<bool, StoreError> {
        write!(self, |conn| {
            let removed = conn
                .execute(
                    "DELETE FROM invitations WHERE id = ?1 AND accepted_at IS NULL",
                    params![id],
                )
                .await?;
            if removed == 0 {
                return Ok(false);
            }
            forum::record_audit(conn, &audit).await?;
            Ok(true)
        })
    }

    /// Accepts an invitation: creates the account with the invited role (and the invited
    /// address, confirmed by the link) and marks the invitation used, in one transaction, so
    /// a link makes one account. `Conflict { field: "invite" }` when it is used or expired.
    pub async fn accept_invitation(
        &self,
        token_hash: &str,
        user: NewUser,
    ) -> Result<UserId, StoreError> {
        let hash = token_hash.to_string();
        write!(self, |conn| {
            let now = Timestamp::now().micros();
            let Some(row) = conn
                .query_opt(
                    "SELECT id, role, email FROM invitations WHERE token_hash = ?1 \
                     AND accepted_at IS NULL AND expires_at > ?2",
                    params![&hash, now],
                )
                .await?
            else {
                return Err(StoreError::Conflict {
                    field: "invite",
                    message: "This invitation was used already, withdrawn or has expired. Ask \
                              for a new one."
                        .into(),
                });
            };
            let mut user = user.clone();
            user.role = row.parse(1)?;
            user.email = row.text(2)?;
            user.email_verified = true;
            let id = accounts::create_user(conn, &user).await?;
            conn.execute(
                "UPDATE invitations SET accepted_at = ?2, accepted_by = ?3 WHERE id = ?1",
                params![row.int(0)?, now, id.0],
            )
            .await?;
            Ok(id)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::prefix_pattern;

    #[test]
    fn search_prefixes_match_their_characters_literally() {
        assert_eq!(prefix_pattern("ab"), "ab%");
        assert_eq!(prefix_pattern("a_b%"), "a\\_b\\%%");
        assert_eq!(prefix_pattern("c\\d"), "c\\\\d%");
    }
}
