//! The live site settings: loading them (at start-up, and whenever this or another node saved
//! new ones), saving them with their audit entry, the site's images (logo, favicon), and what
//! an administrator does to the whole forum once: the first-run setup and removing the demo.

use std::sync::Arc;
use std::time::Duration;

use agora_store::{Account, Audit, FileChange, SiteFile, Store, Timestamp, UserId};
use base64::Engine as _;

use crate::app::AppState;
use crate::error::AppError;
use crate::services::accounts::FieldErrors;
use crate::services::permissions::{self, Action};
use crate::settings::{PageKind, SiteImage, SiteSettings};

/// The settings in force on this node, with what is derived from them once per change.
#[derive(Debug)]
pub struct Site {
    pub settings: SiteSettings,
    /// The stored record's version (0: never saved; the config's defaults).
    pub version: i64,
    /// The pages' HTML, rendered once, in [`PageKind::ALL`] order.
    pages: Vec<String>,
    /// What the writing forms' file field says and accepts, worked out once per settings.
    pub attach: std::sync::Arc<crate::views::AttachField>,
}

impl Site {
    pub fn new(settings: SiteSettings, version: i64) -> Site {
        let pages = PageKind::ALL
            .iter()
            .map(|kind| {
                let md = settings.page(*kind);
                if md.trim().is_empty() {
                    String::new()
                } else {
                    agora_markup::render(md)
                }
            })
            .collect();
        Site {
            attach: std::sync::Arc::new(crate::views::AttachField::new(&settings.uploads)),
            settings,
            version,
            pages,
        }
    }

    /// A page's sanitised HTML; empty when the administrator has not written it.
    pub fn page_html(&self, kind: PageKind) -> &str {
        let index = PageKind::ALL.iter().position(|k| *k == kind).unwrap_or(0);
        self.pages.get(index).map(String::as_str).unwrap_or("")
    }

    /// The URL of an uploaded site image, with its content hash (cached for a year); None:
    /// the built-in one.
    pub fn image_url(&self, image: SiteImage) -> Option<String> {
        self.settings
            .image(image)
            .map(|sha| format!("/site/{}?v={}", image.name(), sha.get(..16).unwrap_or(sha)))
    }
}

/// Reads the stored settings when their version moved, and puts them in force.
pub async fn refresh(state: &AppState) -> anyhow::Result<bool> {
    let version = state.store.settings_version().await?;
    if version <= state.site().version {
        return Ok(false);
    }
    let defaults = SiteSettings::defaults(&state.config);
    let site = match state.store.site_settings().await? {
        Some(row) => Site::new(SiteSettings::from_stored(&defaults, &row.body), row.version),
        None => Site::new(defaults, 0),
    };
    let changed = site.version;
    if !state.install_site(site) {
        return Ok(false);
    }
    // Pages rendered since the change was announced but before these settings were read
    // carry the old ones: drop them.
    state.cache.invalidate();
    tracing::info!(version = changed, "site settings in force");
    Ok(true)
}

/// Follows settings saved by other nodes: checks the version whenever the store hears of a
/// write (on PostgreSQL, other nodes' notifications), at most every 200 ms, and every 5 s
/// regardless. Every 5 s it also reads the change log's head: when it moved past what this
/// node heard of (another process wrote the same SQLite file, such as `agora demo remove`
/// or `agora tag rename` while the server runs), it counts as a change heard, so cached pages
/// and the search index follow. Runs until the task is aborted.
pub async fn follow(state: AppState) {
    let changes = state.store.changes();
    let mut seen = changes.load(std::sync::atomic::Ordering::Acquire);
    let mut last_check = std::time::Instant::now();
    let mut head = state.store.change_head().await.unwrap_or(0);
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = changes.load(std::sync::atomic::Ordering::Acquire);
        let periodic = last_check.elapsed() >= Duration::from_secs(5);
        if now == seen && !periodic {
            continue;
        }
        if periodic {
            match state.store.change_head().await {
                Ok(current) if current != head && now == seen => {
                    // Written by someone this node did not hear from, without saying what
                    // it touched.
                    head = current;
                    state.store.announce_unheard();
                }
                Ok(current) => head = current,
                Err(_) => {}
            }
        }
        seen = changes.load(std::sync::atomic::Ordering::Acquire);
        last_check = std::time::Instant::now();
        if let Err(err) = refresh(&state).await {
            tracing::warn!(error = %err, "could not read the site settings; keeping the ones in force");
        }
    }
}

/// An image for the site, checked and re-encoded.
pub struct ImageUpload {
    pub image: SiteImage,
    pub bytes: Vec<u8>,
}

/// The most an uploaded site image may weigh, and its pixel count (a decompression bomb
/// is refused before it is decoded).
pub const MAX_IMAGE_BYTES: usize = 1 << 20;
const MAX_IMAGE_PIXELS: u64 = 16_000_000;

/// Checks an uploaded site image as every upload is checked (`media::check`: PNG, JPEG, GIF,
/// WebP or ICO by content, never SVG; size and pixel limits before decoding; refused when
/// anything is hidden after the image or script is in it; turned upright, metadata dropped),
/// then scales it down to the size the pages use and encodes it as PNG. The error names what
/// is wrong, for the form.
pub fn reencode(image: SiteImage, bytes: &[u8]) -> Result<SiteFile, String> {
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(format!(
            "This file is {} KB; images may be at most {} KB.",
            bytes.len() / 1024,
            MAX_IMAGE_BYTES / 1024
        ));
    }
    let rules = crate::media::Rules {
        max_bytes: MAX_IMAGE_BYTES as u64,
        max_pixels: MAX_IMAGE_PIXELS,
        allowed: ["png", "jpg", "jpeg", "gif", "webp", "ico"]
            .map(String::from)
            .to_vec(),
        ..crate::media::Rules::default()
    };
    // Named by its field, not by the browser: any of those image types is taken.
    let checked = crate::media::check("image.png", bytes, &rules).map_err(|r| r.to_string())?;
    let damaged = || "This image is damaged or not an image at all.".to_string();
    let clean = image::load_from_memory(&checked.bytes).map_err(|_| damaged())?;
    let side = image.max_side();
    let scaled = if clean.width() > side || clean.height() > side {
        clean.resize(side, side, image::imageops::FilterType::Lanczos3)
    } else {
        clean
    };
    let mut png = Vec::new();
    scaled
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|_| "This image could not be converted.".to_string())?;
    Ok(SiteFile {
        name: image.name().to_string(),
        content_type: "image/png".into(),
        sha: blake3::hash(&png).to_hex().to_string(),
        bytes: base64::engine::general_purpose::STANDARD.encode(&png),
    })
}

/// What changes about the site's images with a save.
#[derive(Default)]
pub struct ImageChanges {
    pub uploads: Vec<ImageUpload>,
    pub remove: Vec<SiteImage>,
}

/// Saves new settings (and images): administrators only; every problem named by field,
/// nothing saved when there is one. `expected` is the settings' version the change was made
/// from (the form's): if someone saved since, nothing is saved and the `version` field says
/// so. In force on this node when it returns, on the others within a second.
pub async fn save(
    state: &AppState,
    actor: Option<&Account>,
    mut settings: SiteSettings,
    images: ImageChanges,
    expected: Option<i64>,
) -> Result<Result<(), FieldErrors>, AppError> {
    permissions::check(actor, Action::Administer, Timestamp::now())?;
    let actor = actor.map(|a| a.brief.id);
    // Images are owned by their uploads, never by what a form posted.
    let current = state.site();
    for image in SiteImage::ALL {
        settings.set_image(image, current.settings.image(image).map(str::to_string));
    }
    let mut errors = settings.validate();
    let mut files = Vec::new();
    for upload in images.uploads {
        if upload.bytes.is_empty() {
            continue;
        }
        let image = upload.image;
        let bytes = upload.bytes;
        match tokio::task::spawn_blocking(move || reencode(image, &bytes))
            .await
            .map_err(|e| AppError::Internal(e.into()))?
        {
            Ok(file) => {
                settings.set_image(image, Some(file.sha.clone()));
                files.push(FileChange::Put(file));
            }
            Err(why) => errors.add(image_field(image), why),
        }
    }
    for image in images.remove {
        settings.set_image(image, None);
        files.push(FileChange::Remove(image.name().to_string()));
    }
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    write(state, actor, &settings, files, expected).await
}

/// The settings in force, read again from the database first (for a change that starts
/// from them, like the API's and the CLI's).
pub async fn current(state: &AppState) -> Result<Arc<Site>, AppError> {
    refresh(state).await?;
    Ok(state.site())
}

/// The form field an image is uploaded with.
pub fn image_field(image: SiteImage) -> &'static str {
    match image {
        SiteImage::LogoLight => "logo_light",
        SiteImage::LogoDark => "logo_dark",
        SiteImage::Favicon => "favicon",
    }
}

/// Stores valid settings and puts them in force here; a save since `expected` is reported
/// on the `version` field.
async fn write(
    state: &AppState,
    actor: Option<UserId>,
    settings: &SiteSettings,
    files: Vec<FileChange>,
    expected: Option<i64>,
) -> Result<Result<(), FieldErrors>, AppError> {
    let defaults = SiteSettings::defaults(&state.config);
    let body = settings.overrides(&defaults);
    let audit = actor.map(|actor| Audit {
        actor,
        action: "settings.save",
        thread: None,
        post: None,
        target_user: None,
        details: changed_fields(&state.site().settings, settings),
    });
    match state
        .store
        .save_site_settings(body, files, expected, audit)
        .await
    {
        Ok(_) => {}
        Err(agora_store::StoreError::Conflict { field, message }) => {
            let mut errors = FieldErrors::default();
            errors.add(field, message);
            return Ok(Err(errors));
        }
        Err(err) => return Err(err.into()),
    }
    refresh(state).await?;
    state.cache.invalidate();
    Ok(Ok(()))
}

/// "name, registration": the fields that differ, for the audit log.
fn changed_fields(before: &SiteSettings, after: &SiteSettings) -> String {
    let (Ok(serde_json::Value::Object(a)), Ok(serde_json::Value::Object(b))) =
        (serde_json::to_value(before), serde_json::to_value(after))
    else {
        return String::new();
    };
    let changed: Vec<&str> = b
        .iter()
        .filter(|(k, v)| a.get(*k) != Some(v))
        .map(|(k, _)| k.as_str())
        .collect();
    if changed.is_empty() {
        "no changes".into()
    } else {
        changed.join(", ")
    }
}

/// Operator tooling (`agora settings set`): saves settings without an account, still
/// validated. The change log records no actor.
pub async fn save_as_operator(
    state: &AppState,
    settings: SiteSettings,
) -> Result<Result<(), FieldErrors>, AppError> {
    let mut settings = settings;
    let current = state.site();
    for image in SiteImage::ALL {
        settings.set_image(image, current.settings.image(image).map(str::to_string));
    }
    let errors = settings.validate();
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    write(state, None, &settings, Vec::new(), None).await
}

/// A site image's bytes and type, if one was uploaded.
pub async fn image(
    state: &AppState,
    image: SiteImage,
) -> anyhow::Result<Option<(String, Vec<u8>, String)>> {
    let Some(file) = state.store.site_file(image.name()).await? else {
        return Ok(None);
    };
    let bytes = base64::engine::general_purpose::STANDARD.decode(&file.bytes)?;
    Ok(Some((file.content_type, bytes, file.sha)))
}

// ---- first-run setup ----

/// How long a setup link printed at start-up stays good.
pub const SETUP_LINK_HOURS: i64 = 24;

/// At start-up, while no administrator exists: makes a setup token, keeps its hash, and
/// returns the link to print. None once the forum has an administrator.
pub async fn setup_link(state: &AppState) -> anyhow::Result<Option<String>> {
    if !state.store.needs_setup().await? {
        return Ok(None);
    }
    let token = crate::auth::new_secret()?;
    let expires =
        Timestamp::from_micros(Timestamp::now().micros() + SETUP_LINK_HOURS * 3_600_000_000);
    state
        .store
        .add_setup_token(crate::auth::secret_hash(&token), expires)
        .await?;
    Ok(Some(format!("/setup?token={token}")))
}

/// Whether `token` is a live setup token: its hash compared with each live one in constant
/// time (blake3's `Hash` equality is constant-time).
pub async fn setup_token_ok(store: &Store, token: &str) -> anyhow::Result<bool> {
    if token.is_empty() || token.len() > 200 {
        return Ok(false);
    }
    let given = blake3::hash(token.as_bytes());
    let live = store.live_setup_tokens(Timestamp::now()).await?;
    let mut ok = false;
    for hex in live {
        if let Ok(stored) = blake3::Hash::from_hex(hex.as_bytes()) {
            ok |= stored == given;
        }
    }
    Ok(ok)
}

const EXPIRED_LINK: &str = "This setup link has expired or was used already. Restart Agora: it \
                            prints a new link while the forum has no administrator.";

/// Whether the first-run setup is still open (no administrator who can sign in exists).
pub async fn setup_open(state: &AppState) -> Result<bool, AppError> {
    Ok(state.store.needs_setup().await?)
}

/// Whether any demo content is left to remove.
pub async fn has_demo(state: &AppState) -> Result<bool, AppError> {
    Ok(state.store.has_demo().await?)
}

/// The dashboard's numbers, with activity per day since `since`.
pub async fn dashboard(
    state: &AppState,
    since: Timestamp,
) -> Result<agora_store::Dashboard, AppError> {
    Ok(state.store.dashboard(since).await?)
}

/// What the setup page asks for.
#[derive(Clone, Debug, Default)]
pub struct SetupInput {
    pub token: String,
    pub name: String,
    pub description: String,
    pub base_url: String,
    pub username: String,
    pub email: String,
    pub password: String,
    /// Keep the demo content (else it is removed).
    pub keep_demo: bool,
}

/// Runs the first-run setup: names the forum, creates the first administrator (using up the
/// token), and keeps or removes the demo. Returns the new administrator's id, or the
/// problems by field (nothing changed).
pub async fn complete_setup(
    state: &AppState,
    input: &SetupInput,
) -> Result<Result<UserId, FieldErrors>, AppError> {
    if !setup_token_ok(&state.store, &input.token).await? {
        let mut errors = FieldErrors::default();
        errors.add("token", EXPIRED_LINK);
        return Ok(Err(errors));
    }
    let mut settings = state.site().settings.clone();
    settings.name = input.name.trim().to_string();
    settings.description = input.description.trim().to_string();
    settings.base_url = input.base_url.trim().trim_end_matches('/').to_string();
    let mut errors = FieldErrors::default();
    for (field, message) in settings.validate().0 {
        if matches!(field, "name" | "description" | "base_url") {
            errors.add(field, message);
        }
    }
    let form = crate::services::accounts::SignUp {
        username: input.username.clone(),
        email: input.email.clone(),
        password: input.password.clone(),
        display_name: String::new(),
    };
    let admin = match crate::services::accounts::new_user(
        state,
        &form,
        agora_store::Role::Admin,
        Some("Administrator".into()),
        crate::services::accounts::CreatedBy::Operator,
    )
    .await?
    {
        Ok(admin) if errors.is_empty() => admin,
        Ok(_) => return Ok(Err(errors)),
        Err(more) => {
            errors.0.extend(more.0);
            return Ok(Err(errors));
        }
    };
    let id = match state
        .store
        .complete_setup(crate::auth::secret_hash(&input.token), admin)
        .await
    {
        Ok(id) => id,
        Err(agora_store::StoreError::Conflict { field: "token", .. }) => {
            errors.add("token", EXPIRED_LINK);
            return Ok(Err(errors));
        }
        Err(agora_store::StoreError::Conflict { field, message }) => {
            errors.add(field, message);
            return Ok(Err(errors));
        }
        Err(err) => return Err(err.into()),
    };
    if let Err(errors) = write(state, Some(id), &settings, Vec::new(), None).await? {
        return Ok(Err(errors));
    }
    if !input.keep_demo && state.store.has_demo().await? {
        remove_demo_as(state, Some(id)).await?;
    }
    Ok(Ok(id))
}

// ---- the demo ----

/// Removes the demo content (administrators; audited).
pub async fn remove_demo(
    state: &AppState,
    actor: Option<&Account>,
) -> Result<agora_store::DemoRemoved, AppError> {
    permissions::check(actor, Action::Administer, Timestamp::now())?;
    Ok(remove_demo_as(state, actor.map(|a| a.brief.id)).await?)
}

/// Removes the demo content; `actor` None for the operator's `agora demo remove`.
pub async fn remove_demo_as(
    state: &AppState,
    actor: Option<UserId>,
) -> anyhow::Result<agora_store::DemoRemoved> {
    let audit = actor.map(|actor| Audit {
        actor,
        action: "demo.remove",
        thread: None,
        post: None,
        target_user: None,
        details: String::new(),
    });
    let removed = state.store.remove_demo(audit).await?;
    state.cache.invalidate();
    tracing::info!(
        threads = removed.threads,
        kept_threads = removed.kept_threads,
        subtopics = removed.subtopics,
        areas = removed.areas,
        tags = removed.tags,
        users = removed.users,
        "removed the demo content"
    );
    Ok(removed)
}

/// Shared by the settings page and the dashboard: whether requests arrive on another host
/// than `base_url` names (the address in emails and feeds would then be wrong).
pub fn host_mismatch(site: &Arc<Site>, request_host: Option<&str>) -> Option<String> {
    let request = request_host?.to_ascii_lowercase();
    let configured = site.settings.host()?;
    let strip_default = |h: &str| {
        h.strip_suffix(":80")
            .or_else(|| h.strip_suffix(":443"))
            .unwrap_or(h)
            .to_string()
    };
    if strip_default(&request) == strip_default(&configured) {
        None
    } else {
        Some(request)
    }
}
