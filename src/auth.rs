//! Who is asking: the signed-in account behind a session cookie or an API token, and the
//! secrets involved. Tokens are 256 random bits from the OS; only their blake3 hashes are
//! stored. Passwords are hashed with Argon2id on the blocking pool, never on the async runtime.

use std::sync::Arc;

use agora_store::{Account, NewSession, Timestamp, TokenScope};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};

use crate::app::AppState;
use crate::client_ip::ClientIp;
use crate::error::AppError;

pub const SESSION_COOKIE: &str = "agora_session";
/// API tokens start with this, so they are recognisable in logs and secret scanners.
pub const TOKEN_PREFIX: &str = "agora_";

/// A new random secret, hex-encoded (64 characters).
pub fn new_secret() -> Result<String, AppError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("no randomness: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// What the database keeps of a secret.
pub fn secret_hash(secret: &str) -> String {
    blake3::hash(secret.as_bytes()).to_hex().to_string()
}

fn argon2(state: &AppState) -> Result<Argon2<'static>, AppError> {
    let accounts = &state.config.accounts;
    let params = Params::new(
        accounts.password_memory_kib.max(Params::MIN_M_COST),
        accounts.password_passes.max(1),
        1,
        None,
    )
    .map_err(|e| AppError::Internal(anyhow::anyhow!("argon2 parameters: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes a password (Argon2id, PHC string) off the async runtime.
pub async fn hash_password(state: &AppState, password: &str) -> Result<String, AppError> {
    let hasher = argon2(state)?;
    let password = password.to_string();
    let salt_bytes = {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("no randomness: {e}")))?;
        bytes
    };
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::encode_b64(&salt_bytes)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("salt: {e}")))?;
        hasher
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AppError::Internal(anyhow::anyhow!("hash: {e}")))
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?
}

/// A hash of nothing at the default cost, verified against when an account does not exist, so
/// that signing in takes as long whether or not it does. [`dummy_hash`] makes one at the
/// configured cost; this is its stand-in until then.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Zq6Ys3n0r1nWcWZ4lKc0Yl3Yt0kq5v3yQk9m0jQ2f1c";

/// A hash of a random password at the configured cost, made once per process.
pub async fn dummy_hash(state: &AppState) -> String {
    state
        .dummy_hash
        .get_or_init(|| async {
            let secret = new_secret().unwrap_or_default();
            hash_password(state, &secret)
                .await
                .unwrap_or_else(|_| DUMMY_HASH.to_string())
        })
        .await
        .clone()
}

/// Checks a password against a stored hash (or, for no account, `dummy`), off the async
/// runtime.
pub async fn verify_password(hash: Option<&str>, password: &str, dummy: &str) -> bool {
    let known = hash.is_some();
    let hash = hash.unwrap_or(dummy).to_string();
    let password = password.to_string();
    let ok = tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash).is_ok_and(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
    })
    .await
    .unwrap_or(false);
    known && ok
}

/// The signed-in account making a request, if any, and how it proved itself.
#[derive(Clone, Default)]
pub struct Viewer {
    pub account: Option<Arc<Account>>,
    /// The session, when signed in with the cookie.
    pub session_id: Option<i64>,
    /// The token's scope, when signed in with an API token.
    pub token_scope: Option<TokenScope>,
    /// Open flags awaiting review, for the page header's "Review" link: counted for each
    /// page request of an account that may review flags (None on the API and for others).
    pub open_flags: Option<i64>,
    /// Unread notifications, for the page header's bell: counted for each page request of a
    /// signed-in account (None on the API).
    pub unread: Option<i64>,
}

impl Viewer {
    pub fn signed_in(&self) -> bool {
        self.account.is_some()
    }

    /// The account, or 401.
    pub fn require(&self) -> Result<&Account, AppError> {
        self.account.as_deref().ok_or(AppError::Unauthorized)
    }
}

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// Who a set of request headers belongs to (for pages rendered outside a handler).
pub async fn viewer_from_headers(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Viewer, AppError> {
    resolve(state, headers, false).await
}

/// Looks up who is asking. A bad or expired credential is simply "not signed in". API tokens
/// count only on the API (`api`): a page or form ignores them, so a token can never reach the
/// settings (and mint another token) or act through a form.
async fn resolve(state: &AppState, headers: &HeaderMap, api: bool) -> Result<Viewer, AppError> {
    if let Some(token) = bearer(headers).filter(|_| api) {
        return Ok(
            match state.store.api_token_account(&secret_hash(token)).await? {
                Some((account, scope)) => Viewer {
                    account: Some(Arc::new(account)),
                    session_id: None,
                    token_scope: Some(scope),
                    open_flags: None,
                    unread: None,
                },
                None => Viewer::default(),
            },
        );
    }
    let Some(token) = cookie_value(headers, SESSION_COOKIE) else {
        return Ok(Viewer::default());
    };
    let now = Timestamp::now();
    let Some(found) = state
        .store
        .session_account(&secret_hash(token), now, !api)
        .await?
    else {
        return Ok(Viewer::default());
    };
    // Extend a session when it is used, at most once an hour (a write per request would cost).
    if now.micros() - found.last_seen_at.micros() > 3_600_000_000 {
        state
            .store
            .touch_session(found.session_id, now, session_expiry(state, now))
            .await?;
    }
    // A page's header shows a moderator how many flags are open: counted per request (one
    // count over a partial index), so a page spliced from the shared cache is still current.
    let reviews = crate::services::permissions::allowed(
        Some(&found.account),
        crate::services::permissions::Action::ReviewFlags,
        now,
    );
    let open_flags = if reviews && !api {
        Some(crate::services::moderation::open_flag_count(state).await?)
    } else {
        None
    };
    // Seen on a page: not away (notification email waits for that), written once a minute.
    if !api && state.seen_due(found.account.brief.id.0) {
        state
            .store
            .touch_last_seen(found.account.brief.id, now)
            .await?;
    }
    // The bell's count came with the session (one count over the unread index, capped: the
    // bell says "99+").
    let unread = found.unread;
    Ok(Viewer {
        account: Some(Arc::new(found.account)),
        session_id: Some(found.session_id),
        token_scope: None,
        open_flags,
        unread,
    })
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        if let Some(viewer) = parts.extensions.get::<Viewer>() {
            return Ok(viewer.clone());
        }
        let path = parts
            .extensions
            .get::<axum::extract::OriginalUri>()
            .map_or(parts.uri.path(), |original| original.0.path());
        let api = path.starts_with("/api/");
        let viewer = resolve(state, &parts.headers, api).await?;
        parts.extensions.insert(viewer.clone());
        Ok(viewer)
    }
}

pub fn session_expiry(state: &AppState, now: Timestamp) -> Timestamp {
    let days = i64::try_from(state.config.accounts.session_days.max(1)).unwrap_or(30);
    Timestamp::from_micros(now.micros() + days * 86_400_000_000)
}

/// Whether cookies may carry `Secure`: yes when the request came to the public address and
/// that is https, and on loopback (browsers treat http://localhost as secure); not over plain
/// HTTP to another host (say the server's own address, before the proxy is set up), where a
/// browser would silently drop a Secure cookie and nobody could sign in.
fn secure_cookies(state: &AppState, headers: &HeaderMap) -> bool {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let site = state.site();
    if site.settings.base_url.starts_with("https://")
        && site.settings.host().is_some_and(|public| {
            public.trim_end_matches(":443") == host.to_ascii_lowercase().trim_end_matches(":443")
        })
    {
        return true;
    }
    let name = host
        .strip_prefix('[')
        .and_then(|h| h.split_once(']').map(|(n, _)| n))
        .unwrap_or_else(|| host.rsplit_once(':').map_or(host, |(n, _)| n));
    matches!(name, "localhost" | "127.0.0.1" | "::1") || name.ends_with(".localhost")
}

fn cookie_header(state: &AppState, headers: &HeaderMap, value: &str, max_age: i64) -> HeaderValue {
    let secure = if secure_cookies(state, headers) {
        "; Secure"
    } else {
        ""
    };
    let text = format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Starts a session for `account` (a new token every time: sign-in rotates it) and returns
/// the Set-Cookie header. `replacing` is the session the browser had, which ends.
pub async fn start_session(
    state: &AppState,
    headers: &HeaderMap,
    ip: ClientIp,
    account: &Account,
) -> Result<HeaderValue, AppError> {
    if let Some(old) = cookie_value(headers, SESSION_COOKIE) {
        state.store.end_session_by_hash(&secret_hash(old)).await?;
    }
    let token = new_secret()?;
    let now = Timestamp::now();
    let user_agent: String = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .chars()
        .take(200)
        .collect();
    state
        .store
        .create_session(NewSession {
            token_hash: secret_hash(&token),
            user: account.brief.id,
            expires_at: session_expiry(state, now),
            user_agent,
            ip: ip.0.to_string(),
        })
        .await?;
    let max_age =
        i64::try_from(state.config.accounts.session_days.max(1) * 86_400).unwrap_or(2_592_000);
    Ok(cookie_header(state, headers, &token, max_age))
}

/// Ends the browser's session and returns the Set-Cookie header that clears the cookie.
pub async fn end_session(state: &AppState, headers: &HeaderMap) -> Result<HeaderValue, AppError> {
    if let Some(token) = cookie_value(headers, SESSION_COOKIE) {
        state.store.end_session_by_hash(&secret_hash(token)).await?;
    }
    Ok(cookie_header(state, headers, "", 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_and_distinct() {
        let a = new_secret().unwrap_or_default();
        let b = new_secret().unwrap_or_default();
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_ne!(secret_hash(&a), a);
    }

    #[test]
    fn cookies_are_read_by_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; agora_session=xyz; b=2"),
        );
        assert_eq!(cookie_value(&headers, SESSION_COOKIE), Some("xyz"));
        assert_eq!(cookie_value(&headers, "c"), None);
    }

    #[tokio::test]
    async fn unknown_accounts_never_verify() {
        assert!(!verify_password(None, "anything", DUMMY_HASH).await);
    }

    /// The dummy hash must parse, or signing in as nobody would return at once and tell an
    /// attacker which accounts exist.
    #[test]
    fn the_dummy_hash_costs_a_real_verification() {
        let parsed = PasswordHash::new(DUMMY_HASH);
        assert!(parsed.is_ok(), "{parsed:?}");
        let ok = parsed.is_ok_and(|p| Argon2::default().verify_password(b"guess", &p).is_ok());
        assert!(!ok);
        let params = PasswordHash::new(DUMMY_HASH)
            .ok()
            .and_then(|p| Params::try_from(&p).ok());
        // The same cost as a real hash made with the default settings.
        assert_eq!(params.map(|p| (p.m_cost(), p.t_cost())), Some((19456, 2)));
    }
}
