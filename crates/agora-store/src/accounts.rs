//! Accounts, sessions, API tokens and emailed one-time links: written once against [`Conn`].
//! Secrets never reach the database in the clear: sessions, tokens and links are stored as
//! hashes the caller computed, passwords as Argon2id hashes.

use crate::StoreError;
use crate::archive::{name_skeleton, username_key};
use crate::db::{Conn, Row, params};
use crate::model::*;
use crate::notifications::count_unread;
use crate::queries::append_change;

/// An account's columns, in [`read_account`]'s order (a macro, so statements that need them
/// can be written with `concat!` once instead of formatted per call).
macro_rules! account_columns {
    () => {
        "u.id, u.username, u.display_name, u.role, u.staff_title, u.email, \
         u.email_verified_at IS NOT NULL, u.password_hash, u.signature_md, u.created_at, \
         u.suspended_until, u.suspend_reason, u.pending_approval"
    };
}
const ACCOUNT_COLUMNS: &str = account_columns!();

fn read_account(row: &Row, at: usize) -> Result<Account, StoreError> {
    Ok(Account {
        brief: UserBrief {
            id: UserId(row.int(at)?),
            username: row.text(at + 1)?,
            display_name: row.text(at + 2)?,
            role: row.parse(at + 3)?,
            staff_title: row.opt_text(at + 4)?,
        },
        email: row.opt_text(at + 5)?,
        email_verified: row.bool(at + 6)?,
        password_hash: row.opt_text(at + 7)?,
        signature_md: row.text(at + 8)?,
        created_at: Timestamp::from_micros(row.int(at + 9)?),
        suspended_until: row.opt_int(at + 10)?.map(Timestamp::from_micros),
        suspend_reason: row.opt_text(at + 11)?,
        pending_approval: row.bool(at + 12)?,
    })
}

pub fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Creates an account. A taken username (or one that looks like a taken one) or email is a
/// [`StoreError::Conflict`] naming the field.
pub async fn create_user<C: Conn>(conn: &mut C, user: &NewUser) -> Result<UserId, StoreError> {
    let key = username_key(&user.username);
    let skeleton = name_skeleton(&user.username);
    let taken = conn
        .query_opt(
            "SELECT 1 FROM users WHERE username_key = ?1 OR name_skeleton = ?2",
            params![&key, &skeleton],
        )
        .await?;
    if taken.is_some() {
        return Err(StoreError::Conflict {
            field: "username",
            message: "That name is taken, or looks too much like one that is. Try another.".into(),
        });
    }
    let email = email_key(&user.email);
    if conn
        .query_opt("SELECT 1 FROM users WHERE email_key = ?1", params![&email])
        .await?
        .is_some()
    {
        return Err(StoreError::Conflict {
            field: "email",
            message: "An account already uses this address. Sign in, or reset your password."
                .into(),
        });
    }
    let now = Timestamp::now().micros();
    let id = conn
        .query_one(
            "INSERT INTO users (username, username_key, display_name, role, staff_title, \
             signature_md, signature_html, created_at, name_skeleton, email, email_key, \
             email_verified_at, password_hash) \
             VALUES (?1, ?2, ?3, ?4, ?5, '', '', ?6, ?7, ?8, ?9, ?10, ?11) RETURNING id",
            params![
                user.username.as_str(),
                &key,
                user.display_name.as_str(),
                user.role.as_str(),
                user.staff_title.clone(),
                now,
                &skeleton,
                user.email.trim(),
                &email,
                user.email_verified.then_some(now),
                user.password_hash.as_str(),
            ],
        )
        .await?
        .int(0)?;
    // Accounts are made only by signing up: the new account is the one acting.
    append_change(conn, ChangeKind::UserCreated, Some(UserId(id)), None, None).await?;
    Ok(UserId(id))
}

/// An account by username or email (for signing in), case-insensitively.
pub async fn account_by_login<C: Conn>(
    conn: &mut C,
    login: &str,
) -> Result<Option<Account>, StoreError> {
    let sql = format!(
        "SELECT {ACCOUNT_COLUMNS} FROM users u WHERE u.username_key = ?1 OR u.email_key = ?2"
    );
    let row = conn
        .query_opt(&sql, params![username_key(login.trim()), email_key(login)])
        .await?;
    row.map(|r| read_account(&r, 0)).transpose()
}

pub async fn account<C: Conn>(conn: &mut C, id: UserId) -> Result<Option<Account>, StoreError> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM users u WHERE u.id = ?1");
    let row = conn.query_opt(&sql, params![id.0]).await?;
    row.map(|r| read_account(&r, 0)).transpose()
}

pub async fn account_by_name<C: Conn>(
    conn: &mut C,
    username: &str,
) -> Result<Option<Account>, StoreError> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM users u WHERE u.username_key = ?1");
    let row = conn
        .query_opt(&sql, params![username_key(username)])
        .await?;
    row.map(|r| read_account(&r, 0)).transpose()
}

pub async fn set_password<C: Conn>(
    conn: &mut C,
    user: UserId,
    hash: &str,
) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE users SET password_hash = ?2 WHERE id = ?1",
        params![user.0, hash],
    )
    .await?;
    // Changed by its owner, or by whoever holds the account's reset link: the account.
    append_change(
        conn,
        ChangeKind::UserPasswordChanged,
        Some(user),
        None,
        None,
    )
    .await?;
    Ok(())
}

/// Revokes every API token of a user (after a password reset: whoever had the account may
/// have made some).
pub async fn revoke_api_tokens<C: Conn>(conn: &mut C, user: UserId) -> Result<u64, StoreError> {
    conn.execute(
        "UPDATE api_tokens SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL",
        params![user.0, Timestamp::now().micros()],
    )
    .await
}

pub async fn mark_email_verified<C: Conn>(conn: &mut C, user: UserId) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE users SET email_verified_at = ?2 WHERE id = ?1 AND email_verified_at IS NULL",
        params![user.0, Timestamp::now().micros()],
    )
    .await?;
    Ok(())
}

pub async fn update_profile<C: Conn>(
    conn: &mut C,
    user: UserId,
    display_name: &str,
    signature_md: &str,
    signature_html: &str,
) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE users SET display_name = ?2, signature_md = ?3, signature_html = ?4 WHERE id = ?1",
        params![user.0, display_name, signature_md, signature_html],
    )
    .await?;
    // Only the owner edits a profile.
    append_change(conn, ChangeKind::UserProfileUpdated, Some(user), None, None).await?;
    Ok(())
}

/// Sets a role and staff title; `actor` is the administrator who did it (None: the operator's
/// `agora user set-role`, which acts as no account).
pub async fn set_role<C: Conn>(
    conn: &mut C,
    user: UserId,
    role: Role,
    staff_title: Option<&str>,
    actor: Option<UserId>,
) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE users SET role = ?2, staff_title = ?3 WHERE id = ?1",
        params![user.0, role.as_str(), staff_title],
    )
    .await?;
    append_change(conn, ChangeKind::UserRoleChanged, actor, None, None).await?;
    Ok(())
}

pub async fn set_suspension<C: Conn>(
    conn: &mut C,
    user: UserId,
    until: Option<(Timestamp, &str)>,
    by: UserId,
) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE users SET suspended_until = ?2, suspend_reason = ?3 WHERE id = ?1",
        params![
            user.0,
            until.map(|(t, _)| t.micros()),
            until.map(|(_, reason)| reason)
        ],
    )
    .await?;
    append_change(
        conn,
        ChangeKind::UserSuspensionChanged,
        Some(by),
        None,
        None,
    )
    .await?;
    Ok(())
}

// ---------------------------------------------------------------- sessions

pub async fn create_session<C: Conn>(conn: &mut C, session: &NewSession) -> Result<(), StoreError> {
    let now = Timestamp::now().micros();
    conn.execute(
        "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, expires_at, \
         user_agent, ip) VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6)",
        params![
            session.token_hash.as_str(),
            session.user.0,
            now,
            session.expires_at.micros(),
            session.user_agent.as_str(),
            session.ip.as_str()
        ],
    )
    .await?;
    Ok(())
}

/// The live session with this token hash, its account, and (for pages, `unread`) how many
/// notifications the account has not read ([`count_unread`]): one statement
/// for everything a signed-in request needs to know of its reader.
pub async fn session_account<C: Conn>(
    conn: &mut C,
    token_hash: &str,
    now: Timestamp,
    unread: bool,
) -> Result<Option<SessionAccount>, StoreError> {
    macro_rules! live_session {
        () => {
            " FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = ?1 AND s.expires_at > ?2"
        };
    }
    // The unread count first, then the account: `read_account` reads from either offset.
    const WITH_UNREAD: &str = concat!(
        "SELECT s.id, s.last_seen_at, ",
        count_unread!("u.id"),
        ", ",
        account_columns!(),
        live_session!()
    );
    const ALONE: &str = concat!(
        "SELECT s.id, s.last_seen_at, ",
        account_columns!(),
        live_session!()
    );
    let sql = if unread { WITH_UNREAD } else { ALONE };
    let Some(row) = conn
        .query_opt(sql, params![token_hash, now.micros()])
        .await?
    else {
        return Ok(None);
    };
    let (unread, account) = if unread {
        (Some(row.int(2)?), read_account(&row, 3)?)
    } else {
        (None, read_account(&row, 2)?)
    };
    Ok(Some(SessionAccount {
        session_id: row.int(0)?,
        last_seen_at: Timestamp::from_micros(row.int(1)?),
        account,
        unread,
    }))
}

/// Records that a session was used and extends it (called at most hourly per session).
pub async fn touch_session<C: Conn>(
    conn: &mut C,
    id: i64,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE sessions SET last_seen_at = ?2, expires_at = ?3 WHERE id = ?1",
        params![id, now.micros(), expires_at.micros()],
    )
    .await?;
    Ok(())
}

pub async fn sessions_of<C: Conn>(
    conn: &mut C,
    user: UserId,
    now: Timestamp,
) -> Result<Vec<SessionRow>, StoreError> {
    let rows = conn
        .query(
            "SELECT id, created_at, last_seen_at, expires_at, user_agent, ip FROM sessions \
             WHERE user_id = ?1 AND expires_at > ?2 ORDER BY last_seen_at DESC, id DESC",
            params![user.0, now.micros()],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(SessionRow {
                id: r.int(0)?,
                created_at: Timestamp::from_micros(r.int(1)?),
                last_seen_at: Timestamp::from_micros(r.int(2)?),
                expires_at: Timestamp::from_micros(r.int(3)?),
                user_agent: r.text(4)?,
                ip: r.text(5)?,
            })
        })
        .collect()
}

/// Ends one session of `user` (by id), or every session but `keep`, or every session.
pub async fn end_sessions<C: Conn>(
    conn: &mut C,
    user: UserId,
    only: Option<i64>,
    keep: Option<i64>,
) -> Result<u64, StoreError> {
    match only {
        Some(id) => {
            conn.execute(
                "DELETE FROM sessions WHERE user_id = ?1 AND id = ?2",
                params![user.0, id],
            )
            .await
        }
        None => {
            conn.execute(
                "DELETE FROM sessions WHERE user_id = ?1 AND id <> ?2",
                params![user.0, keep.unwrap_or(-1)],
            )
            .await
        }
    }
}

pub async fn end_session_by_hash<C: Conn>(
    conn: &mut C,
    token_hash: &str,
) -> Result<(), StoreError> {
    conn.execute(
        "DELETE FROM sessions WHERE token_hash = ?1",
        params![token_hash],
    )
    .await?;
    Ok(())
}

// ---------------------------------------------------------------- API tokens

pub async fn create_api_token<C: Conn>(
    conn: &mut C,
    user: UserId,
    name: &str,
    scope: TokenScope,
    token_hash: &str,
) -> Result<i64, StoreError> {
    conn.query_one(
        "INSERT INTO api_tokens (token_hash, user_id, name, scope, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
        params![
            token_hash,
            user.0,
            name,
            scope.as_str(),
            Timestamp::now().micros()
        ],
    )
    .await?
    .int(0)
}

/// The account and scope of a live token, with the token's id and when it was last used.
pub async fn api_token_account<C: Conn>(
    conn: &mut C,
    token_hash: &str,
) -> Result<Option<(Account, TokenScope, i64, Option<Timestamp>)>, StoreError> {
    let sql = format!(
        "SELECT k.id, k.scope, k.last_used_at, {ACCOUNT_COLUMNS} FROM api_tokens k \
         JOIN users u ON u.id = k.user_id WHERE k.token_hash = ?1 AND k.revoked_at IS NULL"
    );
    let Some(row) = conn.query_opt(&sql, params![token_hash]).await? else {
        return Ok(None);
    };
    Ok(Some((
        read_account(&row, 3)?,
        row.parse(1)?,
        row.int(0)?,
        row.opt_int(2)?.map(Timestamp::from_micros),
    )))
}

pub async fn touch_api_token<C: Conn>(conn: &mut C, id: i64) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1",
        params![id, Timestamp::now().micros()],
    )
    .await?;
    Ok(())
}

pub async fn api_tokens_of<C: Conn>(
    conn: &mut C,
    user: UserId,
) -> Result<Vec<ApiTokenRow>, StoreError> {
    let rows = conn
        .query(
            "SELECT id, name, scope, created_at, last_used_at FROM api_tokens \
             WHERE user_id = ?1 AND revoked_at IS NULL ORDER BY id DESC",
            params![user.0],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(ApiTokenRow {
                id: r.int(0)?,
                name: r.text(1)?,
                scope: r.parse(2)?,
                created_at: Timestamp::from_micros(r.int(3)?),
                last_used_at: r.opt_int(4)?.map(Timestamp::from_micros),
            })
        })
        .collect()
}

pub async fn revoke_api_token<C: Conn>(
    conn: &mut C,
    user: UserId,
    id: i64,
) -> Result<bool, StoreError> {
    Ok(conn
        .execute(
            "UPDATE api_tokens SET revoked_at = ?3 WHERE id = ?1 AND user_id = ?2 \
             AND revoked_at IS NULL",
            params![id, user.0, Timestamp::now().micros()],
        )
        .await?
        > 0)
}

// ---------------------------------------------------------------- emailed links

pub async fn create_email_token<C: Conn>(
    conn: &mut C,
    user: UserId,
    purpose: EmailPurpose,
    token_hash: &str,
    expires_at: Timestamp,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO email_tokens (token_hash, user_id, purpose, created_at, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            token_hash,
            user.0,
            purpose.as_str(),
            Timestamp::now().micros(),
            expires_at.micros()
        ],
    )
    .await?;
    Ok(())
}

/// Uses a one-time link: the user it was for, once, before it expires. A used link also
/// ends every other unused link of the same purpose for that user.
pub async fn use_email_token<C: Conn>(
    conn: &mut C,
    token_hash: &str,
    purpose: EmailPurpose,
    now: Timestamp,
) -> Result<Option<UserId>, StoreError> {
    let row = conn
        .query_opt(
            "UPDATE email_tokens SET used_at = ?3 WHERE token_hash = ?1 AND purpose = ?2 \
             AND used_at IS NULL AND expires_at > ?3 RETURNING user_id",
            params![token_hash, purpose.as_str(), now.micros()],
        )
        .await?;
    let Some(row) = row else { return Ok(None) };
    let user = UserId(row.int(0)?);
    conn.execute(
        "UPDATE email_tokens SET used_at = ?3 WHERE user_id = ?1 AND purpose = ?2 \
         AND used_at IS NULL",
        params![user.0, purpose.as_str(), now.micros()],
    )
    .await?;
    Ok(Some(user))
}

/// Whether a link is still usable (to show the reset form before it is submitted).
pub async fn email_token_valid<C: Conn>(
    conn: &mut C,
    token_hash: &str,
    purpose: EmailPurpose,
    now: Timestamp,
) -> Result<bool, StoreError> {
    Ok(conn
        .query_opt(
            "SELECT 1 FROM email_tokens WHERE token_hash = ?1 AND purpose = ?2 \
             AND used_at IS NULL AND expires_at > ?3",
            params![token_hash, purpose.as_str(), now.micros()],
        )
        .await?
        .is_some())
}

/// Gives every user without a name skeleton one (accounts from before skeletons existed), so
/// look-alike checks cover them too. Returns how many were filled.
pub async fn backfill_name_skeletons<C: Conn>(conn: &mut C) -> Result<u64, StoreError> {
    let rows = conn
        .query(
            "SELECT id, username FROM users WHERE name_skeleton IS NULL",
            &[],
        )
        .await?;
    for row in &rows {
        conn.execute(
            "UPDATE users SET name_skeleton = ?2 WHERE id = ?1",
            params![row.int(0)?, name_skeleton(&row.text(1)?)],
        )
        .await?;
    }
    Ok(rows.len() as u64)
}
