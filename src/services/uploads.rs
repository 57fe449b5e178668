//! Uploads: members' images and files. Each is checked and made safe (`crate::media`: images
//! decoded and re-encoded, orientation applied and metadata dropped, thumbnails made; files
//! checked by content against an allowed type), kept once by content hash in the upload store
//! (`crate::blobs`), and named in posts by its address, `/uploads/TOKEN/NAME`.
//!
//! Limits: one file's size, and what an account may upload in a day (less in its first day;
//! moderators and staff have no daily quota), both from the site settings. Refusals name the
//! limit and change nothing. An owner deletes their own uploads, a moderator removes anyone's;
//! the posts that showed one then say "image removed". Uploads no post has named a day after
//! they were made are cleaned up ([`clean_unused`]).

use std::collections::HashMap;
use std::time::Duration;

use agora_store::{Account, NewUpload, PostText, Timestamp, UploadPurpose, UploadRow, UserId};
use axum::body::Bytes;

use crate::app::AppState;
use crate::blobs::{file_key, thumb_key};
use crate::error::AppError;
use crate::media;
use crate::services::permissions::{self, Action};

const MIB: u64 = 1024 * 1024;
const DAY_MICROS: i64 = 86_400_000_000;

/// A file as it came with a form or a request.
#[derive(Clone, Debug)]
pub struct IncomingFile {
    /// The name the browser sent (any script; checked by `media`).
    pub name: String,
    pub bytes: Bytes,
}

/// An upload made, and what a post writes to show it.
#[derive(Clone, Debug)]
pub struct Uploaded {
    pub upload: UploadRow,
    /// The whole file's address.
    pub url: String,
    /// The Markdown that shows it: an image (the renderer links it to its full size) or a
    /// link to the file with its name and size.
    pub markdown: String,
}

fn refused(code: &'static str, message: String, too_large: bool) -> AppError {
    AppError::UploadRefused {
        code,
        message,
        too_large,
    }
}

/// "8 MB", "340 KB", "12.5 MB": a size as people read it.
pub fn human_size(bytes: u64) -> String {
    if bytes >= MIB {
        let mb = bytes as f64 / MIB as f64;
        if mb >= 10.0 || (mb - mb.round()).abs() < 0.05 {
            format!("{:.0} MB", mb.round())
        } else {
            format!("{mb:.1} MB")
        }
    } else {
        format!("{} KB", bytes.div_ceil(1024).max(1))
    }
}

/// A path segment: everything but unreserved characters percent-encoded (a name may hold
/// spaces, brackets, parentheses or any script).
fn encode_segment(text: &str) -> String {
    const KEEP: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(text, KEEP).to_string()
}

/// The whole file's address.
pub fn url_of(upload: &UploadRow) -> String {
    file_address(&upload.token, &upload.name)
}

/// A thumbnail's address (`thumbnail`: `WxH.EXT`).
pub fn thumbnail_url(upload: &UploadRow, thumbnail: &str) -> String {
    thumbnail_address(&upload.token, thumbnail)
}

fn file_address(token: &str, name: &str) -> String {
    format!("/uploads/{token}/{}", encode_segment(name))
}

fn thumbnail_address(token: &str, thumbnail: &str) -> String {
    format!("/uploads/{token}/t/{thumbnail}")
}

/// The sized addresses of an upload's thumbnails, for the renderer.
fn thumbnail_refs(token: &str, thumbnails: &[String]) -> Vec<(u32, u32, String)> {
    thumbnails
        .iter()
        .filter_map(|t| {
            let (w, h) = thumbnail_size(t)?;
            Some((w, h, thumbnail_address(token, t)))
        })
        .collect()
}

/// (width, height) of a thumbnail named `WxH.EXT`.
pub fn thumbnail_size(thumbnail: &str) -> Option<(u32, u32)> {
    let (dims, _) = thumbnail.split_once('.')?;
    let (w, h) = dims.split_once('x')?;
    Some((w.parse().ok()?, h.parse().ok()?))
}

/// Text safe inside a Markdown link's brackets.
fn link_text(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .map(|c| {
            if matches!(c, '[' | ']' | '\\') {
                ' '
            } else {
                c
            }
        })
        .collect::<String>()
        .trim()
        .to_string()
}

/// The Markdown that shows an upload in a post.
pub fn markdown_of(upload: &UploadRow) -> String {
    let url = url_of(upload);
    if upload.image {
        let stem = upload
            .name
            .rsplit_once('.')
            .map_or(upload.name.as_str(), |(stem, _)| stem);
        format!("![{}]({url})", link_text(stem))
    } else {
        format!(
            "[{}]({url}) ({})",
            link_text(&upload.name),
            human_size(upload.bytes.max(0) as u64)
        )
    }
}

/// What the renderer needs of an upload.
pub fn reference(upload: &UploadRow) -> agora_markup::UploadRef {
    agora_markup::UploadRef {
        image: upload.image,
        removed: upload.removed(),
        animated: upload.animated,
        width: u32::try_from(upload.width).unwrap_or(0),
        height: u32::try_from(upload.height).unwrap_or(0),
        url: url_of(upload),
        thumbnails: thumbnail_refs(&upload.token, &upload.thumbnails),
    }
}

/// What the renderer needs of an upload an archive carries (it has no row yet), so that an
/// imported post shows it as the forum it came from did.
pub fn archived_reference(upload: &agora_store::archive::Upload) -> agora_markup::UploadRef {
    agora_markup::UploadRef {
        image: upload.kind == agora_store::archive::UploadKind::Image,
        removed: upload.removed.is_some(),
        animated: upload.animated,
        width: u32::try_from(upload.width).unwrap_or(0),
        height: u32::try_from(upload.height).unwrap_or(0),
        url: file_address(&upload.token, &upload.name),
        thumbnails: thumbnail_refs(&upload.token, &upload.thumbnails),
    }
}

/// The uploads some texts name, for the renderer.
pub async fn references<'a>(
    store: &agora_store::Store,
    markdowns: impl IntoIterator<Item = &'a str>,
) -> Result<agora_markup::Uploads, agora_store::StoreError> {
    let mut tokens: Vec<String> = Vec::new();
    for markdown in markdowns {
        for token in agora_store::uploads::upload_tokens(markdown) {
            if !tokens.contains(&token) {
                tokens.push(token);
            }
        }
    }
    let rows = store.uploads_by_tokens(tokens).await?;
    Ok(rows
        .iter()
        .map(|row| (row.token.clone(), reference(row)))
        .collect())
}

fn new_token() -> Result<String, AppError> {
    let mut bytes = [0u8; agora_store::uploads::TOKEN_CHARS];
    getrandom::fill(&mut bytes)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("no randomness: {e}")))?;
    Ok(bytes
        .iter()
        .map(|b| char::from(agora_store::uploads::TOKEN_ALPHABET[usize::from(b % 32)]))
        .collect())
}

/// The largest file the site takes, in bytes.
pub fn max_file_bytes(state: &AppState) -> u64 {
    state
        .site()
        .settings
        .uploads
        .max_file_kb
        .saturating_mul(1024)
}

/// The rules `media` checks a file against, from the site settings.
pub fn media_rules(state: &AppState) -> media::Rules {
    let site = state.site();
    let rules = &site.settings.uploads;
    media::Rules {
        max_bytes: rules.max_file_kb.saturating_mul(1024),
        allowed: rules.types.clone(),
        ..media::Rules::default()
    }
}

/// Whether `account` may upload `size` more bytes today; the refusal names the quota.
async fn check_quota(state: &AppState, account: &Account, size: u64) -> Result<(), AppError> {
    if !permissions::limited(account) {
        return Ok(());
    }
    let site = state.site();
    let rules = &site.settings.uploads;
    let now = Timestamp::now();
    let day_ago = Timestamp::from_micros(now.micros() - DAY_MICROS);
    let new_account = account.created_at > day_ago;
    let quota_mb = if new_account {
        rules.new_account_daily_mb
    } else {
        rules.daily_mb
    };
    let used = state
        .store
        .uploaded_bytes_since(account.brief.id, day_ago)
        .await?
        .max(0) as u64;
    if used + size > quota_mb * MIB {
        let who = if new_account {
            "New accounts may upload"
        } else {
            "Each account may upload"
        };
        return Err(refused(
            "quota_exceeded",
            format!(
                "{who} {} a day, and you have uploaded {} in the last 24 hours: this file \
                 ({}) would go over. Your text is kept; try again tomorrow, or link to the \
                 file instead.",
                human_size(quota_mb * MIB),
                human_size(used),
                human_size(size)
            ),
            true,
        ));
    }
    Ok(())
}

/// The checks every upload passes before its content is looked at: signed in and allowed to
/// write, the file within the size limit and the account within its quota.
async fn admit(state: &AppState, actor: Option<&Account>, size: u64) -> Result<Account, AppError> {
    permissions::check(actor, Action::Upload, Timestamp::now())?;
    let Some(account) = actor else {
        return Err(AppError::Unauthorized);
    };
    if account.pending_approval {
        return Err(AppError::Forbidden(
            "Your account is waiting for a moderator's approval: you can upload once it is \
             approved."
                .into(),
        ));
    }
    let site = state.site();
    if site.settings.require_verified_email && !account.email_verified {
        return Err(AppError::Forbidden(
            "Confirm your email address first: the link is in the email we sent.".into(),
        ));
    }
    let max = site.settings.uploads.max_file_kb.saturating_mul(1024);
    if size > max {
        return Err(refused(
            "too_large",
            format!(
                "This file is {}; files may be at most {}.",
                human_size(size),
                human_size(max)
            ),
            true,
        ));
    }
    check_quota(state, account, size).await?;
    Ok(account.clone())
}

/// Runs `work` (decoding, re-encoding) on the blocking pool, a few at a time so that a burst
/// of uploads cannot hold every image in memory at once.
async fn crunch<T: Send + 'static>(
    state: &AppState,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AppError> {
    let _slot = state
        .media_slots
        .acquire()
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| AppError::Internal(e.into()))
}

fn from_refusal(refusal: &media::Refusal) -> AppError {
    refused(
        refusal.code(),
        refusal.to_string(),
        refusal.code() == "too_large",
    )
}

/// Stores the file and its thumbnails (once per content), then records the upload.
async fn keep(
    state: &AppState,
    owner: UserId,
    purpose: UploadPurpose,
    checked: media::Checked,
) -> Result<UploadRow, AppError> {
    let sha = blake3::hash(&checked.bytes).to_hex().to_string();
    let mut thumbnails = Vec::new();
    for thumb in &checked.thumbnails {
        thumbnails.push(format!(
            "{}x{}.{}",
            thumb.width, thumb.height, thumb.extension
        ));
    }
    let blobs = &state.blobs;
    // The same content uploaded before is stored already (thumbnails are made with it).
    if !blobs.exists(&file_key(&sha)).await? {
        for (thumb, name) in checked.thumbnails.iter().zip(&thumbnails) {
            blobs
                .put(&thumb_key(&sha, name), Bytes::from(thumb.bytes.clone()))
                .await?;
        }
        blobs
            .put(&file_key(&sha), Bytes::from(checked.bytes.clone()))
            .await?;
    }
    let new = NewUpload {
        token: new_token()?,
        owner,
        purpose,
        image: matches!(checked.kind, media::Kind::Image),
        name: checked.name.clone(),
        content_type: checked.content_type.clone(),
        sha,
        bytes: checked.bytes.len() as i64,
        width: i64::from(checked.width),
        height: i64::from(checked.height),
        animated: checked.animated,
        thumbnails,
    };
    Ok(state.store.insert_upload(new).await?)
}

/// Uploads a file for a post. The refusal says what is wrong and names the limit; nothing is
/// stored then.
pub async fn upload(
    state: &AppState,
    actor: Option<&Account>,
    file: IncomingFile,
) -> Result<Uploaded, AppError> {
    let account = admit(state, actor, file.bytes.len() as u64).await?;
    let rules = media_rules(state);
    let IncomingFile { name, bytes } = file;
    let checked = crunch(state, move || media::check(&name, &bytes, &rules))
        .await?
        .map_err(|r| from_refusal(&r))?;
    let upload = keep(state, account.brief.id, UploadPurpose::Post, checked).await?;
    tracing::info!(
        upload = %upload.token,
        owner = upload.owner.0,
        bytes = upload.bytes,
        "file uploaded"
    );
    Ok(Uploaded {
        url: url_of(&upload),
        markdown: markdown_of(&upload),
        upload,
    })
}

/// Makes an uploaded picture the member's avatar: cropped to a square (its centre, unless
/// the browser cropped it already) at the sizes pages show.
pub async fn set_avatar(
    state: &AppState,
    actor: Option<&Account>,
    file: IncomingFile,
) -> Result<UploadRow, AppError> {
    let account = admit(state, actor, file.bytes.len() as u64).await?;
    let rules = media_rules(state);
    let IncomingFile { name, bytes } = file;
    let mut sizes = crunch(state, move || media::avatar(&bytes, &rules))
        .await?
        .map_err(|r| from_refusal(&r))?;
    sizes.sort_by_key(|t| t.width);
    let Some(full) = sizes.pop() else {
        return Err(AppError::Internal(anyhow::anyhow!("no avatar sizes made")));
    };
    let checked = media::Checked {
        kind: media::Kind::Image,
        name: if name.trim().is_empty() {
            "avatar.png".into()
        } else {
            name
        },
        extension: full.extension,
        content_type: full.content_type,
        width: full.width,
        height: full.height,
        animated: false,
        thumbnails: sizes,
        bytes: full.bytes,
    };
    let upload = keep(state, account.brief.id, UploadPurpose::Avatar, checked).await?;
    if let Some(sha) = state
        .store
        .set_avatar(account.brief.id, Some(upload.id))
        .await?
    {
        forget_bytes(state, &sha).await;
    }
    Ok(upload)
}

/// Goes back to the generated avatar.
pub async fn clear_avatar(state: &AppState, actor: Option<&Account>) -> Result<(), AppError> {
    permissions::check(actor, Action::EditProfile, Timestamp::now())?;
    let Some(account) = actor else {
        return Err(AppError::Unauthorized);
    };
    if let Some(sha) = state.store.set_avatar(account.brief.id, None).await? {
        forget_bytes(state, &sha).await;
    }
    Ok(())
}

/// Deletes stored bytes no upload needs any more (checked again first: the same file may
/// have been uploaded meanwhile). A failure is logged; the clean-up does not depend on it.
async fn forget_bytes(state: &AppState, sha: &str) {
    match state.store.sha_in_use(sha).await {
        Ok(false) => {
            if let Err(e) = state.blobs.delete_file(sha).await {
                tracing::warn!(error = %e, sha, "could not delete an upload's bytes");
            }
        }
        Ok(true) => {}
        Err(e) => tracing::warn!(error = %e, sha, "could not check an upload's bytes"),
    }
}

/// Removes an upload: its owner's own, or anyone's by a moderator. The bytes go (unless
/// another upload shares them), and the posts that showed it are rendered again, saying it
/// was removed.
pub async fn remove(
    state: &AppState,
    actor: Option<&Account>,
    token: &str,
) -> Result<(), AppError> {
    let Some(upload) = state.store.upload_by_token(token).await? else {
        return Err(AppError::not_found("There is no such file."));
    };
    permissions::check(
        actor,
        Action::RemoveUpload {
            owner: upload.owner,
        },
        Timestamp::now(),
    )?;
    let Some(account) = actor else {
        return Err(AppError::Unauthorized);
    };
    let removed = state
        .store
        .remove_upload(upload.id, account.brief.id)
        .await?;
    if !removed.removed {
        return Ok(());
    }
    rerender(state, removed.posts, Some(account.brief.id)).await?;
    if let Some(sha) = removed.unshared_sha {
        forget_bytes(state, &sha).await;
    }
    tracing::info!(upload = %upload.token, by = account.brief.id.0, "upload removed");
    Ok(())
}

/// Renders posts again (an upload they show changed) and writes their HTML.
async fn rerender(
    state: &AppState,
    posts: Vec<PostText>,
    actor: Option<UserId>,
) -> Result<(), AppError> {
    let mut rendered = Vec::with_capacity(posts.len());
    for post in posts {
        let html = crate::services::render::post_html(state, &post.body_md).await?;
        rendered.push((post, html));
    }
    state.store.set_posts_html(rendered, actor).await?;
    Ok(())
}

/// What [`clean_unused`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cleaned {
    pub uploads: u64,
    pub files: u64,
}

/// Removes uploads for posts that no post has named a day after they were made, and their
/// bytes when nothing else keeps them. Runs from the job runner; returns what it removed.
pub async fn clean_unused(state: &AppState, now: Timestamp) -> anyhow::Result<Cleaned> {
    let before = Timestamp::from_micros(now.micros() - DAY_MICROS);
    let mut cleaned = Cleaned::default();
    loop {
        let batch = state.store.unused_uploads(before, 200).await?;
        if batch.is_empty() {
            break;
        }
        for upload in &batch {
            if let Some(sha) = state.store.delete_upload_row(upload.id).await? {
                forget_bytes(state, &sha).await;
                cleaned.files += 1;
            }
            cleaned.uploads += 1;
        }
        if batch.len() < 200 {
            break;
        }
    }
    if cleaned.uploads > 0 {
        tracing::info!(
            uploads = cleaned.uploads,
            files = cleaned.files,
            "unused uploads cleaned up"
        );
    }
    state.upload_stats.record_clean(cleaned);
    Ok(cleaned)
}

/// What serving one address of an upload needs: the bytes' key, how to send them.
#[derive(Clone, Debug)]
pub struct Served {
    pub key: String,
    pub content_type: String,
    /// Shown in the page (images), or downloaded (everything else).
    pub inline: bool,
    pub name: String,
    /// The ETag: the content hash (and thumbnail).
    pub etag: String,
}

/// What `/uploads/TOKEN/…` serves: the whole file (`thumbnail` None) or one thumbnail.
/// A removed upload is gone (410).
pub async fn served(
    state: &AppState,
    token: &str,
    thumbnail: Option<&str>,
) -> Result<Served, AppError> {
    if !agora_store::uploads::is_token(token) {
        return Err(AppError::not_found("There is no such file."));
    }
    let Some(upload) = state.store.upload_by_token(token).await? else {
        return Err(AppError::not_found("There is no such file."));
    };
    if upload.removed() {
        return Err(AppError::Gone(
            "This file was removed by its owner or a moderator.".into(),
        ));
    }
    match thumbnail {
        None => Ok(Served {
            key: file_key(&upload.sha),
            content_type: upload.content_type.clone(),
            inline: upload.image,
            etag: format!("\"{}\"", upload.sha),
            name: upload.name,
        }),
        Some(thumb) => {
            if !upload.thumbnails.iter().any(|t| t == thumb) {
                return Err(AppError::not_found("There is no such thumbnail."));
            }
            let content_type = match thumb.rsplit_once('.').map(|(_, ext)| ext) {
                Some("webp") => "image/webp",
                Some("jpg") => "image/jpeg",
                Some("gif") => "image/gif",
                _ => "image/png",
            };
            Ok(Served {
                key: thumb_key(&upload.sha, thumb),
                content_type: content_type.into(),
                inline: true,
                etag: format!("\"{}-{thumb}\"", upload.sha),
                name: upload.name,
            })
        }
    }
}

/// What `/avatars/TOKEN/SIZE` serves: a member's picture at one of the sizes it was made in.
pub async fn served_avatar(state: &AppState, token: &str, size: u32) -> Result<Served, AppError> {
    let missing = || AppError::not_found("There is no such picture.");
    if !agora_store::uploads::is_token(token) {
        return Err(missing());
    }
    let Some(upload) = state.store.upload_by_token(token).await? else {
        return Err(missing());
    };
    if upload.purpose != UploadPurpose::Avatar {
        return Err(missing());
    }
    if i64::from(size) == upload.width {
        return served(state, token, None).await;
    }
    let thumbnail = upload
        .thumbnails
        .iter()
        .find(|t| thumbnail_size(t).is_some_and(|(w, _)| w == size))
        .ok_or_else(missing)?;
    served(state, token, Some(thumbnail)).await
}

/// A pre-signed address of the bucket for `served`, when uploads are served by redirect.
pub async fn redirect_url(state: &AppState, served: &Served) -> Result<Option<String>, AppError> {
    let config = &state.config.uploads;
    if config.serve != crate::config::UploadServe::Redirect || !state.blobs.is_bucket() {
        return Ok(None);
    }
    Ok(state
        .blobs
        .signed_url(
            &served.key,
            Duration::from_secs(config.redirect_secs.max(1)),
        )
        .await?)
}

/// Counters for the metrics and the dashboard, since this node started.
#[derive(Debug, Default)]
pub struct UploadStats {
    cleaned_uploads: std::sync::atomic::AtomicU64,
    cleaned_files: std::sync::atomic::AtomicU64,
    last_clean: std::sync::Mutex<Option<Timestamp>>,
}

impl UploadStats {
    fn record_clean(&self, cleaned: Cleaned) {
        use std::sync::atomic::Ordering;
        self.cleaned_uploads
            .fetch_add(cleaned.uploads, Ordering::Relaxed);
        self.cleaned_files
            .fetch_add(cleaned.files, Ordering::Relaxed);
        if let Ok(mut last) = self.last_clean.lock() {
            *last = Some(Timestamp::now());
        }
    }

    /// (uploads, files) cleaned up since start, and when the clean-up last ran.
    pub fn cleaned(&self) -> (u64, u64, Option<Timestamp>) {
        use std::sync::atomic::Ordering;
        (
            self.cleaned_uploads.load(Ordering::Relaxed),
            self.cleaned_files.load(Ordering::Relaxed),
            self.last_clean.lock().ok().and_then(|l| *l),
        )
    }
}

/// A member's uploads, for their list (newest first).
pub async fn of_member(
    state: &AppState,
    actor: Option<&Account>,
) -> Result<Vec<UploadRow>, AppError> {
    let Some(account) = actor else {
        return Err(AppError::Unauthorized);
    };
    Ok(state.store.uploads_of(account.brief.id, 200).await?)
}

/// The avatars of some members, by id: the address of each size (side → address).
pub fn avatar_sizes(upload: &UploadRow) -> HashMap<u32, String> {
    let mut sizes: HashMap<u32, String> = upload
        .thumbnails
        .iter()
        .filter_map(|t| Some((thumbnail_size(t)?.0, thumbnail_url(upload, t))))
        .collect();
    sizes.insert(u32::try_from(upload.width).unwrap_or(0), url_of(upload));
    sizes
}

/// What [`migrate`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Migrated {
    /// Keys copied (files and thumbnails), and their bytes.
    pub copied: u64,
    pub bytes: u64,
    /// Keys the destination held already (a migration stopped half-way and run again).
    pub skipped: u64,
}

/// Copies every stored file and thumbnail from one upload store to another (`agora uploads
/// migrate --to …`), skipping what the destination holds already; nothing is deleted from
/// the source. `bar` counts keys.
pub async fn migrate(
    from: &crate::blobs::Blobs,
    to: &crate::blobs::Blobs,
    bar: Option<indicatif::ProgressBar>,
) -> anyhow::Result<Migrated> {
    use futures_util::TryStreamExt as _;
    let keys: Vec<(String, u64)> = from.list().try_collect().await?;
    if let Some(bar) = &bar {
        bar.set_length(keys.len() as u64);
    }
    let mut done = Migrated::default();
    for (key, size) in keys {
        if to.exists(&key).await? {
            done.skipped += 1;
        } else {
            let Some(bytes) = from.get(&key).await? else {
                // Deleted since it was listed (the clean-up ran): nothing to copy.
                continue;
            };
            to.put(&key, bytes).await?;
            done.copied += 1;
            done.bytes += size;
        }
        if let Some(bar) = &bar {
            bar.inc(1);
            bar.set_message(human_size(done.bytes));
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_say_them() {
        assert_eq!(human_size(8 * MIB), "8 MB");
        assert_eq!(human_size(1536 * 1024), "1.5 MB");
        assert_eq!(human_size(340 * 1024), "340 KB");
        assert_eq!(human_size(10), "1 KB");
    }

    #[test]
    fn names_in_addresses_are_encoded_and_markdown_stays_markdown() {
        assert_eq!(
            encode_segment("截图 (1).png"),
            "%E6%88%AA%E5%9B%BE%20%281%29.png"
        );
        assert_eq!(link_text("a [b] \\ c"), "a  b    c");
        assert_eq!(thumbnail_size("800x450.webp"), Some((800, 450)));
        assert_eq!(thumbnail_size("800.webp"), None);
    }
}
