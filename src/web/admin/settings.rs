//! `/admin/settings`: the forum's identity (name, description, address, logo, favicon, accent
//! colour, footer links), its pages (about, guidelines, terms, privacy), who may join, and the
//! limits. One form, sent as multipart so images come with it; refused input comes back with
//! every field as typed and each problem named. Also removing the demo.

use askama::Template;
use axum::extract::{Multipart, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::app::AppState;
use crate::auth::Viewer;
use crate::config::Rate;
use crate::error::AppError;
use crate::services::accounts::FieldErrors;
use crate::services::permissions::Action;
use crate::services::settings::{self as site, ImageChanges, ImageUpload};
use crate::settings::{FooterLink, PageKind, Registration, SiteImage, SiteSettings, TagCreation};
use crate::web::admin::{AdminNav, admin_layout, guard, sign_in_first};
use crate::web::{Layout, private_page, render};

/// The form as typed: text, so nothing is lost when a number does not parse.
#[derive(Clone, Debug, Default)]
pub struct SettingsForm {
    /// The settings' version the form was filled from (a save since is refused).
    pub version: String,
    pub name: String,
    pub description: String,
    pub base_url: String,
    pub accent_colour: String,
    /// One link per line: "Label | https://…".
    pub footer_links: String,
    pub contact_email: String,
    pub about: String,
    pub guidelines: String,
    pub terms: String,
    pub privacy: String,
    pub registration: String,
    pub require_verified_email: bool,
    pub member_directory: bool,
    pub tag_creation: String,
    pub tag_creation_min_days: String,
    pub new_account_posts: String,
    pub new_account_links: String,
    pub post_per_account_n: String,
    pub post_per_account_secs: String,
    pub post_per_ip_n: String,
    pub post_per_ip_secs: String,
    pub sign_up_per_ip_n: String,
    pub sign_up_per_ip_secs: String,
    /// The upload types allowed, separated by spaces or commas. The upload fields are None
    /// when the form did not send them (an older page's form): those settings stay.
    pub upload_types: Option<String>,
    pub upload_max_kb: Option<String>,
    pub upload_daily_mb: Option<String>,
    pub upload_new_daily_mb: Option<String>,
}

impl SettingsForm {
    pub fn from_settings(s: &SiteSettings, version: i64) -> SettingsForm {
        SettingsForm {
            version: version.to_string(),
            name: s.name.clone(),
            description: s.description.clone(),
            base_url: s.base_url.clone(),
            accent_colour: s.accent_colour.clone(),
            footer_links: s
                .footer_links
                .iter()
                .map(|l| format!("{} | {}", l.label, l.url))
                .collect::<Vec<_>>()
                .join("\n"),
            contact_email: s.contact_email.clone(),
            about: s.about.clone(),
            guidelines: s.guidelines.clone(),
            terms: s.terms.clone(),
            privacy: s.privacy.clone(),
            registration: s.registration.as_str().into(),
            require_verified_email: s.require_verified_email,
            member_directory: s.member_directory,
            tag_creation: s.tag_creation.as_str().into(),
            tag_creation_min_days: s.tag_creation_min_days.to_string(),
            new_account_posts: s.limits.new_account_posts.to_string(),
            new_account_links: s.limits.new_account_links.to_string(),
            post_per_account_n: s.limits.post_per_account.n.to_string(),
            post_per_account_secs: s.limits.post_per_account.secs.to_string(),
            post_per_ip_n: s.limits.post_per_ip.n.to_string(),
            post_per_ip_secs: s.limits.post_per_ip.secs.to_string(),
            sign_up_per_ip_n: s.limits.sign_up_per_ip.n.to_string(),
            sign_up_per_ip_secs: s.limits.sign_up_per_ip.secs.to_string(),
            upload_types: Some(s.uploads.types.join(" ")),
            upload_max_kb: Some(s.uploads.max_file_kb.to_string()),
            upload_daily_mb: Some(s.uploads.daily_mb.to_string()),
            upload_new_daily_mb: Some(s.uploads.new_account_daily_mb.to_string()),
        }
    }

    fn set(&mut self, field: &str, value: String) {
        match field {
            "version" => self.version = value,
            "name" => self.name = value,
            "description" => self.description = value,
            "base_url" => self.base_url = value,
            "accent_colour" => self.accent_colour = value,
            "footer_links" => self.footer_links = value,
            "contact_email" => self.contact_email = value,
            "about" => self.about = value,
            "guidelines" => self.guidelines = value,
            "terms" => self.terms = value,
            "privacy" => self.privacy = value,
            "registration" => self.registration = value,
            "require_verified_email" => self.require_verified_email = true,
            "member_directory" => self.member_directory = true,
            "tag_creation" => self.tag_creation = value,
            "tag_creation_min_days" => self.tag_creation_min_days = value,
            "new_account_posts" => self.new_account_posts = value,
            "new_account_links" => self.new_account_links = value,
            "post_per_account_n" => self.post_per_account_n = value,
            "post_per_account_secs" => self.post_per_account_secs = value,
            "post_per_ip_n" => self.post_per_ip_n = value,
            "post_per_ip_secs" => self.post_per_ip_secs = value,
            "sign_up_per_ip_n" => self.sign_up_per_ip_n = value,
            "sign_up_per_ip_secs" => self.sign_up_per_ip_secs = value,
            "upload_types" => self.upload_types = Some(value),
            "upload_max_kb" => self.upload_max_kb = Some(value),
            "upload_daily_mb" => self.upload_daily_mb = Some(value),
            "upload_new_daily_mb" => self.upload_new_daily_mb = Some(value),
            _ => {}
        }
    }

    /// The settings this form asks for, starting from `base` (which keeps what the form does
    /// not hold: the other limits), or the problems of the fields that do not parse.
    pub fn to_settings(&self, base: &SiteSettings) -> (SiteSettings, FieldErrors) {
        let mut errors = FieldErrors::default();
        let mut s = base.clone();
        s.name = self.name.trim().to_string();
        s.description = self.description.trim().to_string();
        s.base_url = self.base_url.trim().to_string();
        s.accent_colour = self.accent_colour.trim().to_string();
        s.contact_email = self.contact_email.trim().to_string();
        s.about = self.about.clone();
        s.guidelines = self.guidelines.clone();
        s.terms = self.terms.clone();
        s.privacy = self.privacy.clone();
        s.footer_links = Vec::new();
        for line in self.footer_links.lines().filter(|l| !l.trim().is_empty()) {
            match line.split_once('|') {
                Some((label, url)) => s.footer_links.push(FooterLink {
                    label: label.trim().to_string(),
                    url: url.trim().to_string(),
                }),
                None => {
                    errors.add(
                        "footer_links",
                        format!(
                            "Write each link as \"Label | address\" (\"{}\").",
                            line.trim()
                        ),
                    );
                    break;
                }
            }
        }
        match Registration::parse(&self.registration) {
            Some(r) => s.registration = r,
            None => errors.add("registration", "Choose who may sign up."),
        }
        match TagCreation::parse(&self.tag_creation) {
            Some(t) => s.tag_creation = t,
            None => errors.add("tag_creation", "Choose who may create tags."),
        }
        s.require_verified_email = self.require_verified_email;
        s.member_directory = self.member_directory;
        let mut number = |field: &'static str, text: &str| -> Option<u64> {
            match text.trim().parse::<u64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    errors.add(field, "Write a whole number.");
                    None
                }
            }
        };
        if let Some(n) = number("tag_creation_min_days", &self.tag_creation_min_days) {
            s.tag_creation_min_days = u32::try_from(n).unwrap_or(u32::MAX);
        }
        if let Some(n) = number("new_account_posts", &self.new_account_posts) {
            s.limits.new_account_posts = u32::try_from(n).unwrap_or(u32::MAX);
        }
        if let Some(n) = number("new_account_links", &self.new_account_links) {
            s.limits.new_account_links = u32::try_from(n).unwrap_or(u32::MAX);
        }
        if let Some(n) = self
            .upload_max_kb
            .as_deref()
            .and_then(|t| number("upload_max_kb", t))
        {
            s.uploads.max_file_kb = n;
        }
        if let Some(n) = self
            .upload_daily_mb
            .as_deref()
            .and_then(|t| number("upload_daily_mb", t))
        {
            s.uploads.daily_mb = n;
        }
        if let Some(n) = self
            .upload_new_daily_mb
            .as_deref()
            .and_then(|t| number("upload_new_daily_mb", t))
        {
            s.uploads.new_account_daily_mb = n;
        }
        if let Some(types) = &self.upload_types {
            s.uploads.types = types
                .split(|c: char| c == ',' || c.is_whitespace())
                .map(|t| t.trim().trim_start_matches('.').to_lowercase())
                .filter(|t| !t.is_empty())
                .fold(Vec::new(), |mut types, t| {
                    if !types.contains(&t) {
                        types.push(t);
                    }
                    types
                });
        }
        let mut rate = |field: &'static str, n: &str, secs: &str, into: &mut Rate| match (
            n.trim().parse::<u32>(),
            secs.trim().parse::<u64>(),
        ) {
            (Ok(n), Ok(secs)) => *into = Rate::new(n, secs),
            _ => errors.add(
                field,
                "Write whole numbers: how many, and per how many seconds.",
            ),
        };
        rate(
            "post_per_account",
            &self.post_per_account_n,
            &self.post_per_account_secs,
            &mut s.limits.post_per_account,
        );
        rate(
            "post_per_ip",
            &self.post_per_ip_n,
            &self.post_per_ip_secs,
            &mut s.limits.post_per_ip,
        );
        rate(
            "sign_up_per_ip",
            &self.sign_up_per_ip_n,
            &self.sign_up_per_ip_secs,
            &mut s.limits.sign_up_per_ip,
        );
        (s, errors)
    }
}

/// An image field on the page: its current URL, if uploaded.
pub struct ImageField {
    pub field: &'static str,
    pub label: &'static str,
    pub hint: &'static str,
    pub current: Option<String>,
}

pub struct Choice {
    pub value: &'static str,
    pub label: &'static str,
}

#[derive(Template)]
#[template(path = "admin/settings.html")]
struct SettingsTemplate {
    layout: Layout,
    nav: AdminNav,
    form: SettingsForm,
    errors: FieldErrors,
    notice: Option<&'static str>,
    images: Vec<ImageField>,
    registrations: Vec<Choice>,
    tag_creations: Vec<Choice>,
    pages: Vec<(&'static str, &'static str)>,
    has_demo: bool,
    /// The host requests arrive on, when it is not `base_url`'s.
    host_mismatch: Option<String>,
    /// The upload types Agora can check.
    upload_types_known: String,
}

impl SettingsTemplate {
    fn page_text(&self, field: &str) -> &str {
        match field {
            "about" => &self.form.about,
            "guidelines" => &self.form.guidelines,
            "terms" => &self.form.terms,
            _ => &self.form.privacy,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct DoneQuery {
    pub done: Option<String>,
}

fn notice(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "saved" => Some("Saved: the settings are in force on every node."),
        "demo" => Some("The demo content is removed."),
        _ => None,
    }
}

/// The host this request came to (for the "requests arrive elsewhere" warning).
pub fn request_host(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
}

async fn page(
    state: &AppState,
    viewer: &Viewer,
    form: SettingsForm,
    errors: FieldErrors,
    notice: Option<&'static str>,
    headers: &HeaderMap,
    status: StatusCode,
) -> Result<Response, AppError> {
    let account = guard(viewer, Action::Administer)?;
    let live = state.site();
    let images = SiteImage::ALL
        .into_iter()
        .map(|image| ImageField {
            field: site::image_field(image),
            label: match image {
                SiteImage::LogoLight => "Logo",
                SiteImage::LogoDark => "Logo for the dark scheme",
                SiteImage::Favicon => "Favicon",
            },
            hint: match image {
                SiteImage::LogoLight => "PNG, JPEG, GIF or WebP, up to 1 MB; shown 32 px high. Replaces the mark and name's icon.",
                SiteImage::LogoDark => "Optional: shown instead when the reader's system is in dark mode.",
                SiteImage::Favicon => "A square image; PNG or ICO is best. Shown in browser tabs.",
            },
            current: live.image_url(image),
        })
        .collect();
    let html = render(&SettingsTemplate {
        layout: admin_layout(state, viewer, "Settings", "/admin/settings"),
        nav: AdminNav::new(account, "/admin/settings"),
        form,
        errors,
        notice,
        images,
        registrations: Registration::ALL
            .into_iter()
            .map(|r| Choice {
                value: r.as_str(),
                label: r.label(),
            })
            .collect(),
        tag_creations: TagCreation::ALL
            .into_iter()
            .map(|t| Choice {
                value: t.as_str(),
                label: t.label(),
            })
            .collect(),
        pages: PageKind::ALL
            .into_iter()
            .map(|p| (p.slug(), p.title()))
            .collect(),
        has_demo: site::has_demo(state).await?,
        host_mismatch: site::host_mismatch(&live, request_host(headers).as_deref()),
        upload_types_known: crate::settings::UPLOAD_TYPES.join(", "),
    })?;
    Ok(private_page(status, html))
}

/// `GET /admin/settings`.
pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Query(query): Query<DoneQuery>,
) -> Result<Response, AppError> {
    if let Some(redirect) = sign_in_first(&viewer, "/admin/settings") {
        return Ok(redirect);
    }
    let live = state.site();
    let form = SettingsForm::from_settings(&live.settings, live.version);
    page(
        &state,
        &viewer,
        form,
        FieldErrors::default(),
        notice(query.done.as_deref()),
        &headers,
        StatusCode::OK,
    )
    .await
}

/// `POST /admin/settings` (multipart): saves, or shows the form again as typed.
pub async fn save(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    guard(&viewer, Action::Administer)?;
    // Checkboxes send nothing when cleared: start from false.
    let mut form = SettingsForm::default();
    let mut images = ImageChanges::default();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| AppError::bad_param("form", e.body_text()))?
    {
        let name = field.name().unwrap_or_default().to_string();
        if let Some(image) = SiteImage::ALL
            .into_iter()
            .find(|i| site::image_field(*i) == name)
        {
            let bytes = field
                .bytes()
                .await
                .map_err(|e| AppError::bad_param(site::image_field(image), e.body_text()))?;
            images.uploads.push(ImageUpload {
                image,
                bytes: bytes.to_vec(),
            });
            continue;
        }
        if let Some(image) = name.strip_prefix("remove_").and_then(|n| {
            SiteImage::ALL
                .into_iter()
                .find(|i| site::image_field(*i) == n)
        }) {
            images.remove.push(image);
            continue;
        }
        let value = field
            .text()
            .await
            .map_err(|e| AppError::bad_param("form", e.body_text()))?;
        form.set(&name, value);
    }
    let live = site::current(&state).await?;
    let (settings, mut errors) = form.to_settings(&live.settings);
    let expected = form.version.trim().parse::<i64>().ok();
    let chose_files = images.uploads.iter().any(|u| !u.bytes.is_empty());
    if errors.is_empty() {
        match site::save(
            &state,
            viewer.account.as_deref(),
            settings,
            images,
            expected,
        )
        .await?
        {
            Ok(()) => return Ok(Redirect::to("/admin/settings?done=saved").into_response()),
            Err(more) => errors = more,
        }
    } else {
        // Report the rest too: every problem at once (each field once).
        for (field, message) in settings.validate().0 {
            if errors.get(field).is_none() {
                errors.add(field, message);
            }
        }
    }
    if errors.get("version").is_some() {
        // Saving again after comparing is a save over the current version.
        form.version = state.site().version.to_string();
    }
    if chose_files {
        // Browsers do not keep a chosen file when the form comes back.
        for image in SiteImage::ALL {
            let field = site::image_field(image);
            if errors.get(field).is_none() {
                errors.add(
                    field,
                    "Nothing was saved: choose this file again if you chose one.",
                );
                break;
            }
        }
    }
    page(
        &state,
        &viewer,
        form,
        errors,
        None,
        &headers,
        StatusCode::BAD_REQUEST,
    )
    .await
}

/// `POST /admin/demo/remove`.
pub async fn remove_demo(
    State(state): State<AppState>,
    viewer: Viewer,
) -> Result<Response, AppError> {
    site::remove_demo(&state, viewer.account.as_deref()).await?;
    Ok(Redirect::to("/admin/settings?done=demo").into_response())
}
