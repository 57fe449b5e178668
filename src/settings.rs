//! The live site settings: one typed record an administrator edits in the browser (or with
//! `agora settings set`), kept in the database and followed by every node within a second.
//! The config file gives each field its default; the database keeps only the fields that
//! differ from it, so a default changed in the config still reaches every field nobody set.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::config::{Config, LimitsConfig};
use crate::services::accounts::FieldErrors;

/// Who may sign up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Registration {
    /// Anyone may sign up.
    #[default]
    Open,
    /// Anyone may sign up; a moderator approves the account before it can post.
    Approval,
    /// Only people invited by email.
    Invitation,
    /// Nobody new.
    Closed,
}

impl Registration {
    pub const ALL: [Registration; 4] = [
        Registration::Open,
        Registration::Approval,
        Registration::Invitation,
        Registration::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Registration::Open => "open",
            Registration::Approval => "approval",
            Registration::Invitation => "invitation",
            Registration::Closed => "closed",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Registration::Open => "Open: anyone may sign up",
            Registration::Approval => "By approval: a moderator approves each new account",
            Registration::Invitation => "By invitation only",
            Registration::Closed => "Closed: nobody new",
        }
    }

    pub fn parse(text: &str) -> Option<Registration> {
        Registration::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

/// Who may create a new tag while writing a thread.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TagCreation {
    /// Only administrators, in the admin pages.
    #[default]
    Admins,
    /// Staff (and administrators) while composing.
    Staff,
    /// Any member whose account is old enough (`tag_creation_min_days`).
    Members,
}

impl TagCreation {
    pub const ALL: [TagCreation; 3] = [
        TagCreation::Admins,
        TagCreation::Staff,
        TagCreation::Members,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TagCreation::Admins => "admins",
            TagCreation::Staff => "staff",
            TagCreation::Members => "members",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            TagCreation::Admins => "Administrators only, in the admin pages",
            TagCreation::Staff => "Staff, while writing a thread",
            TagCreation::Members => "Members whose account is old enough, while writing a thread",
        }
    }

    pub fn parse(text: &str) -> Option<TagCreation> {
        TagCreation::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

/// A link in the footer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FooterLink {
    pub label: String,
    /// An http(s) address, or a path on this forum ("/about").
    pub url: String,
}

/// The site's pages written in Markdown; an empty page is left out of the footer (the about
/// page falls back to the description).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageKind {
    About,
    Guidelines,
    Terms,
    Privacy,
}

impl PageKind {
    pub const ALL: [PageKind; 4] = [
        PageKind::About,
        PageKind::Guidelines,
        PageKind::Terms,
        PageKind::Privacy,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            PageKind::About => "about",
            PageKind::Guidelines => "guidelines",
            PageKind::Terms => "terms",
            PageKind::Privacy => "privacy",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            PageKind::About => "About",
            PageKind::Guidelines => "Community guidelines",
            PageKind::Terms => "Terms of service",
            PageKind::Privacy => "Privacy",
        }
    }

    pub fn parse(slug: &str) -> Option<PageKind> {
        PageKind::ALL.into_iter().find(|p| p.slug() == slug)
    }
}

/// The site's image files: their names in the database and the URL path they are served at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SiteImage {
    LogoLight,
    LogoDark,
    Favicon,
}

impl SiteImage {
    pub const ALL: [SiteImage; 3] = [
        SiteImage::LogoLight,
        SiteImage::LogoDark,
        SiteImage::Favicon,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SiteImage::LogoLight => "logo-light",
            SiteImage::LogoDark => "logo-dark",
            SiteImage::Favicon => "favicon",
        }
    }

    pub fn parse(name: &str) -> Option<SiteImage> {
        SiteImage::ALL.into_iter().find(|i| i.name() == name)
    }

    /// The longest side the stored image is scaled down to (twice the displayed size).
    pub fn max_side(self) -> u32 {
        match self {
            SiteImage::LogoLight | SiteImage::LogoDark => 256,
            SiteImage::Favicon => 64,
        }
    }
}

/// What members may upload, set in /admin/settings (the config's `[uploads]` gives the
/// defaults). Moderators and staff have no daily quota; the size of one file holds for all.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct UploadRules {
    /// The file types allowed, by extension (lower case, no dot); each file's content is
    /// checked against its type.
    pub types: Vec<String>,
    /// The largest file, in KiB.
    pub max_file_kb: u64,
    /// What one account may upload in a day, in MiB; 0: nothing.
    pub daily_mb: u64,
    /// The same in an account's first day.
    pub new_account_daily_mb: u64,
}

/// The most a site may allow for one file: the server's body limit on upload routes is set
/// from it, and a reverse proxy must accept as much (docs/nginx.conf).
pub const MAX_UPLOAD_FILE_KB: u64 = 64 * 1024;

/// The file types an administrator may allow: each has a check of its content.
pub const UPLOAD_TYPES: &[&str] = &[
    "jpg", "jpeg", "png", "gif", "webp", "txt", "log", "crash", "ips", "json", "zip",
];

impl Default for UploadRules {
    fn default() -> Self {
        UploadRules::defaults(&Config::default())
    }
}

impl UploadRules {
    pub fn defaults(config: &Config) -> UploadRules {
        let c = &config.uploads;
        UploadRules {
            types: c.types.clone(),
            max_file_kb: c.max_file_kb,
            daily_mb: c.daily_mb,
            new_account_daily_mb: c.new_account_daily_mb,
        }
    }

    fn validate(&self, errors: &mut FieldErrors) {
        if let Some(unknown) = self
            .types
            .iter()
            .find(|t| !UPLOAD_TYPES.contains(&t.as_str()))
        {
            errors.add(
                "upload_types",
                format!(
                    "{unknown:?} is not a type Agora can check; choose from {}.",
                    UPLOAD_TYPES.join(", ")
                ),
            );
        }
        if self.max_file_kb == 0 || self.max_file_kb > MAX_UPLOAD_FILE_KB {
            errors.add(
                "upload_max_kb",
                format!("Give a size from 1 to {MAX_UPLOAD_FILE_KB} KiB."),
            );
        }
        for (field, mb) in [
            ("upload_daily_mb", self.daily_mb),
            ("upload_new_daily_mb", self.new_account_daily_mb),
        ] {
            if mb > 1_000_000 {
                errors.add(field, "At most 1000000 MiB.");
            }
        }
    }
}

/// Everything an administrator sets for the whole forum.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct SiteSettings {
    /// The forum's name, in every page title and email.
    pub name: String,
    /// One or two sentences: the home page's description and the search engines' snippet.
    pub description: String,
    /// The public address (scheme and host, no trailing slash): links in emails, feeds and
    /// canonical URLs.
    pub base_url: String,
    /// "#RRGGBB", or empty for the built-in blue.
    pub accent_colour: String,
    pub footer_links: Vec<FooterLink>,
    /// Shown on the about page and in emails; empty: not shown.
    pub contact_email: String,
    /// Markdown.
    pub about: String,
    pub guidelines: String,
    pub terms: String,
    pub privacy: String,
    pub registration: Registration,
    /// Members may post only after verifying their email address.
    pub require_verified_email: bool,
    /// Whether `/users` lists members publicly.
    pub member_directory: bool,
    pub tag_creation: TagCreation,
    /// With `tag_creation = members`: the account's age in days before it may create tags.
    pub tag_creation_min_days: u32,
    /// Abuse limits and new-account limits.
    pub limits: LimitsConfig,
    /// What members may upload.
    pub uploads: UploadRules,
    /// The content hashes of the uploaded logo (light and dark) and favicon; None: built in.
    pub logo_light: Option<String>,
    pub logo_dark: Option<String>,
    pub favicon: Option<String>,
}

impl Default for SiteSettings {
    fn default() -> Self {
        SiteSettings::defaults(&Config::default())
    }
}

impl SiteSettings {
    /// The defaults the config file gives.
    pub fn defaults(config: &Config) -> SiteSettings {
        let site = &config.site;
        SiteSettings {
            name: site.name.clone(),
            description: site.description.clone(),
            base_url: site.base_url.trim_end_matches('/').to_string(),
            accent_colour: site.accent_colour.clone(),
            footer_links: site.footer_links.clone(),
            contact_email: site.contact_email.clone(),
            about: site.about.clone(),
            guidelines: site.guidelines.clone(),
            terms: site.terms.clone(),
            privacy: site.privacy.clone(),
            registration: site.registration,
            require_verified_email: config.accounts.require_verified_email,
            member_directory: site.member_directory,
            tag_creation: site.tag_creation,
            tag_creation_min_days: site.tag_creation_min_days,
            limits: config.limits.clone(),
            uploads: UploadRules::defaults(config),
            logo_light: None,
            logo_dark: None,
            favicon: None,
        }
    }

    /// The stored overrides (a JSON object of fields; `limits` by its own fields) laid over
    /// the defaults. Fields this build does not know (a newer node saved them) are ignored; a
    /// field that no longer parses keeps its default.
    pub fn from_stored(defaults: &SiteSettings, stored: &str) -> SiteSettings {
        let Ok(serde_json::Value::Object(base)) = serde_json::to_value(defaults) else {
            return defaults.clone();
        };
        let Ok(serde_json::Value::Object(overrides)) = serde_json::from_str(stored) else {
            tracing::warn!("the stored site settings are not a JSON object; using the defaults");
            return defaults.clone();
        };
        let mut merged = base.clone();
        for (key, value) in overrides {
            let Some(default) = base.get(&key) else {
                continue;
            };
            let mut candidate = default.clone();
            lay_over_known(&mut candidate, value);
            let previous = merged.insert(key.clone(), candidate);
            let parses =
                serde_json::from_value::<SiteSettings>(serde_json::Value::Object(merged.clone()))
                    .is_ok();
            if !parses {
                tracing::warn!(field = %key, "a stored site setting does not parse; using its default");
                if let Some(previous) = previous {
                    merged.insert(key, previous);
                }
            }
        }
        serde_json::from_value(serde_json::Value::Object(merged))
            .unwrap_or_else(|_| defaults.clone())
    }

    /// The fields that differ from `defaults`, as the JSON object the database keeps (an
    /// object-valued field, like `limits`, keeps only its own fields that differ, so a default
    /// changed in the config still reaches the limits nobody set).
    pub fn overrides(&self, defaults: &SiteSettings) -> String {
        let (Ok(mine), Ok(base)) = (serde_json::to_value(self), serde_json::to_value(defaults))
        else {
            return "{}".into();
        };
        difference(&mine, &base)
            .unwrap_or_else(|| serde_json::Value::Object(Default::default()))
            .to_string()
    }

    /// `changes` (fields and their new values, as JSON) laid over these settings; an object
    /// value changes only the fields it names (`{"limits": {"post_per_ip": …}}` leaves the
    /// other limits). An unknown field or a value that does not fit is refused as (field,
    /// why); nothing is validated beyond the types (that is [`Self::validate`]).
    pub fn with_changes(
        &self,
        changes: serde_json::Map<String, serde_json::Value>,
    ) -> Result<SiteSettings, (String, String)> {
        let Ok(mut merged) = serde_json::to_value(self) else {
            return Err(("body".into(), "The settings could not be read.".into()));
        };
        if let Some(path) = unknown_field(&merged, &changes, "") {
            return Err((path.clone(), format!("There is no setting {path:?}.")));
        }
        lay_over(&mut merged, serde_json::Value::Object(changes));
        serde_path_to_error::deserialize(merged)
            .map_err(|e| (e.path().to_string(), e.into_inner().to_string()))
    }

    /// Every problem with these settings, by field (the form's field names).
    pub fn validate(&self) -> FieldErrors {
        let mut errors = FieldErrors::default();
        let length =
            |errors: &mut FieldErrors, field: &'static str, value: &str, min: usize, max: usize| {
                if !errors.text(field, value) {
                    return;
                }
                let n = value.trim().chars().count();
                if n < min {
                    errors.add(field, "This cannot be empty.");
                } else if n > max {
                    errors.add(field, format!("At most {max} characters (this has {n})."));
                }
            };
        length(&mut errors, "name", &self.name, 1, 80);
        length(&mut errors, "description", &self.description, 0, 300);
        if let Err(why) = check_base_url(&self.base_url) {
            errors.add("base_url", why);
        }
        if !self.accent_colour.is_empty() {
            match parse_colour(&self.accent_colour) {
                None => errors.add(
                    "accent_colour",
                    "Write the colour as # and six hexadecimal digits, like #2f6feb.",
                ),
                Some(rgb) => {
                    let ratio = contrast_on_white(rgb);
                    if ratio < 4.5 {
                        errors.add(
                            "accent_colour",
                            format!(
                                "Links in this colour would be hard to read: contrast {ratio:.1}:1 on white, and \
                                 text needs 4.5:1. Choose a darker shade."
                            ),
                        );
                    }
                }
            }
        }
        if self.footer_links.len() > 8 {
            errors.add("footer_links", "At most 8 footer links.");
        }
        for link in &self.footer_links {
            if !errors.text("footer_links", &link.label) || !errors.text("footer_links", &link.url)
            {
                break;
            }
            let label = link.label.trim().chars().count();
            if label == 0 || label > 40 {
                errors.add(
                    "footer_links",
                    format!(
                        "Each link needs a label of 1 to 40 characters (\"{}\").",
                        link.label.trim()
                    ),
                );
                break;
            }
            if !is_link(&link.url) {
                errors.add(
                    "footer_links",
                    format!(
                        "\"{}\" is not an http(s) address or a path starting with /.",
                        link.url.trim()
                    ),
                );
                break;
            }
        }
        if !self.contact_email.is_empty() {
            length(&mut errors, "contact_email", &self.contact_email, 3, 254);
            let parts: Vec<&str> = self.contact_email.split('@').collect();
            if parts.len() != 2
                || parts[0].is_empty()
                || !parts[1].contains('.')
                || self.contact_email.contains(char::is_whitespace)
            {
                errors.add("contact_email", "This does not look like an email address.");
            }
        }
        for (field, text) in [
            ("about", &self.about),
            ("guidelines", &self.guidelines),
            ("terms", &self.terms),
            ("privacy", &self.privacy),
        ] {
            length(&mut errors, field, text, 0, 50_000);
        }
        if self.tag_creation_min_days > 3650 {
            errors.add("tag_creation_min_days", "At most 3650 days.");
        }
        let limits = &self.limits;
        if limits.new_account_posts > 100_000 {
            errors.add("new_account_posts", "At most 100000.");
        }
        if limits.new_account_links > 100_000 {
            errors.add("new_account_links", "At most 100000.");
        }
        for (field, rate) in [
            ("post_per_account", limits.post_per_account),
            ("post_per_ip", limits.post_per_ip),
            ("sign_up_per_ip", limits.sign_up_per_ip),
            ("sign_in_per_ip", limits.sign_in_per_ip),
            ("sign_in_per_account", limits.sign_in_per_account),
            ("reset_per_ip", limits.reset_per_ip),
            ("boost_per_account", limits.boost_per_account),
            ("flag_per_account", limits.flag_per_account),
        ] {
            if rate.n > 100_000 || rate.secs == 0 || rate.secs > 7 * 86_400 {
                errors.add(
                    field,
                    "Give a number of events (0 to turn the limit off, at most 100000) per 1 to 604800 seconds.",
                );
            }
        }
        self.uploads.validate(&mut errors);
        errors
    }

    /// The page's Markdown.
    pub fn page(&self, kind: PageKind) -> &str {
        match kind {
            PageKind::About => &self.about,
            PageKind::Guidelines => &self.guidelines,
            PageKind::Terms => &self.terms,
            PageKind::Privacy => &self.privacy,
        }
    }

    pub fn image(&self, image: SiteImage) -> Option<&str> {
        match image {
            SiteImage::LogoLight => self.logo_light.as_deref(),
            SiteImage::LogoDark => self.logo_dark.as_deref(),
            SiteImage::Favicon => self.favicon.as_deref(),
        }
    }

    pub fn set_image(&mut self, image: SiteImage, sha: Option<String>) {
        match image {
            SiteImage::LogoLight => self.logo_light = sha,
            SiteImage::LogoDark => self.logo_dark = sha,
            SiteImage::Favicon => self.favicon = sha,
        }
    }

    /// Whether the public address is still the built-in default (nobody set one).
    pub fn base_url_is_default(&self) -> bool {
        self.base_url == crate::config::DEFAULT_BASE_URL
    }

    /// The host (and port) of `base_url`, lower-cased.
    pub fn host(&self) -> Option<String> {
        let url = url::Url::parse(&self.base_url).ok()?;
        let host = url.host_str()?.to_ascii_lowercase();
        Some(match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host,
        })
    }
}

/// `patch` laid over `base`: objects field by field (recursively), anything else replaced.
fn lay_over(base: &mut serde_json::Value, patch: serde_json::Value) {
    match (base, patch) {
        (serde_json::Value::Object(base), serde_json::Value::Object(patch)) => {
            for (key, value) in patch {
                match base.get_mut(&key) {
                    Some(slot) => lay_over(slot, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (slot, value) => *slot = value,
    }
}

/// Like [`lay_over`], leaving out the fields `base` does not have (a newer build's).
fn lay_over_known(base: &mut serde_json::Value, patch: serde_json::Value) {
    match (base, patch) {
        (serde_json::Value::Object(base), serde_json::Value::Object(patch)) => {
            for (key, value) in patch {
                if let Some(slot) = base.get_mut(&key) {
                    lay_over_known(slot, value);
                }
            }
        }
        (slot, value) => *slot = value,
    }
}

/// What of `mine` differs from `base`: the settings field by field, and an object-valued
/// setting (`limits`) by its own fields; a value below that (one rate) is whole. None when
/// nothing differs.
fn difference(mine: &serde_json::Value, base: &serde_json::Value) -> Option<serde_json::Value> {
    difference_at(mine, base, 0)
}

fn difference_at(
    mine: &serde_json::Value,
    base: &serde_json::Value,
    depth: usize,
) -> Option<serde_json::Value> {
    match (mine, base) {
        (serde_json::Value::Object(mine), serde_json::Value::Object(base)) if depth < 2 => {
            let differing: serde_json::Map<String, serde_json::Value> = mine
                .iter()
                .filter_map(|(key, value)| match base.get(key) {
                    Some(default) => {
                        difference_at(value, default, depth + 1).map(|d| (key.clone(), d))
                    }
                    None => Some((key.clone(), value.clone())),
                })
                .collect();
            (!differing.is_empty()).then_some(serde_json::Value::Object(differing))
        }
        (mine, base) if mine == base => None,
        (mine, _) => Some(mine.clone()),
    }
}

/// The first field `changes` names that `known` (an object) has not, as a dotted path; an
/// object value's own fields are checked against the known object's.
fn unknown_field(
    known: &serde_json::Value,
    changes: &serde_json::Map<String, serde_json::Value>,
    prefix: &str,
) -> Option<String> {
    for (key, value) in changes {
        let path = format!("{prefix}{key}");
        match known.get(key) {
            None => return Some(path),
            Some(serde_json::Value::Object(_)) => {
                if let (Some(inner), serde_json::Value::Object(nested)) = (known.get(key), value)
                    && let Some(found) = unknown_field(inner, nested, &format!("{path}."))
                {
                    return Some(found);
                }
            }
            Some(_) => {}
        }
    }
    None
}

/// `#rrggbb` → (r, g, b).
pub fn parse_colour(text: &str) -> Option<(u8, u8, u8)> {
    let hex = text.strip_prefix('#')?;
    if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let byte = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
    Some((byte(0)?, byte(2)?, byte(4)?))
}

/// WCAG contrast ratio of a colour against white.
pub fn contrast_on_white((r, g, b): (u8, u8, u8)) -> f64 {
    let channel = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.039_28 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let l = 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
    1.05 / (l + 0.05)
}

/// The accent colour's stylesheet: links and highlights in that colour, a lighter tint of
/// it in the dark scheme (served at /site/theme.css, since the policy forbids inline styles).
pub fn theme_css(colour: &str) -> String {
    if parse_colour(colour).is_none() {
        return String::new();
    }
    format!(
        ":root {{ --link: {colour}; --accent-fg: {colour}; --accent-bg: color-mix(in srgb, {colour} 14%, #ffffff); }}\n\
         @media (prefers-color-scheme: dark) {{ :root {{ --link: color-mix(in srgb, {colour} 55%, #ffffff); \
         --accent-fg: color-mix(in srgb, {colour} 45%, #ffffff); --accent-bg: color-mix(in srgb, {colour} 28%, #0d1117); }} }}\n"
    )
}

/// A public address: http or https, a host, no path, query or fragment.
pub fn check_base_url(text: &str) -> Result<(), String> {
    let problem = "Give the address people use to reach the forum, like https://forum.example.com.";
    let url = url::Url::parse(text.trim()).map_err(|_| problem.to_string())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(problem.into());
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() || text.ends_with('/')
    {
        return Err("Only the scheme and host (and port): no path, and no trailing slash.".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(problem.into());
    }
    Ok(())
}

/// A link an administrator may put on the site: http(s), or a path on this forum.
pub fn is_link(text: &str) -> bool {
    let text = text.trim();
    if text.starts_with('/') && !text.starts_with("//") && !text.contains(char::is_whitespace) {
        return true;
    }
    match url::Url::parse(text) {
        Ok(url) => matches!(url.scheme(), "http" | "https") && url.host_str().is_some(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_changed_fields_are_stored_and_defaults_fill_the_rest() {
        let defaults = SiteSettings::default();
        let mut mine = defaults.clone();
        mine.name = "Rustaceans".into();
        mine.registration = Registration::Invitation;
        let stored = mine.overrides(&defaults);
        let parsed: serde_json::Value = serde_json::from_str(&stored).unwrap_or_default();
        assert_eq!(parsed.as_object().map(|o| o.len()), Some(2), "{stored}");

        let mut new_defaults = defaults.clone();
        new_defaults.description = "A new default".into();
        let loaded = SiteSettings::from_stored(&new_defaults, &stored);
        assert_eq!(loaded.name, "Rustaceans");
        assert_eq!(loaded.registration, Registration::Invitation);
        assert_eq!(loaded.description, "A new default");
    }

    #[test]
    fn one_limit_changes_alone_and_only_it_is_stored() {
        let defaults = SiteSettings::default();
        let mut changes = serde_json::Map::new();
        changes.insert(
            "limits".into(),
            serde_json::json!({"post_per_ip": {"n": 3, "secs": 60}}),
        );
        let changed = defaults
            .with_changes(changes)
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(changed.limits.post_per_ip, crate::config::Rate::new(3, 60));
        assert_eq!(
            changed.limits.sign_in_per_ip,
            defaults.limits.sign_in_per_ip
        );
        let stored = changed.overrides(&defaults);
        assert_eq!(stored, r#"{"limits":{"post_per_ip":{"n":3,"secs":60}}}"#);
        // A default changed later in the config still reaches the other limits.
        let mut new_defaults = defaults.clone();
        new_defaults.limits.sign_in_per_ip = crate::config::Rate::new(99, 60);
        let loaded = SiteSettings::from_stored(&new_defaults, &stored);
        assert_eq!(
            loaded.limits.sign_in_per_ip,
            crate::config::Rate::new(99, 60)
        );
        assert_eq!(loaded.limits.post_per_ip, crate::config::Rate::new(3, 60));
        // A newer node's extra limit field is ignored, not the whole override.
        let newer =
            r#"{"limits":{"post_per_ip":{"n":3,"secs":60},"upload_per_day":{"n":1,"secs":1}}}"#;
        assert_eq!(
            SiteSettings::from_stored(&defaults, newer)
                .limits
                .post_per_ip,
            crate::config::Rate::new(3, 60)
        );
        let mut unknown = serde_json::Map::new();
        unknown.insert("limits".into(), serde_json::json!({"nonsense": 1}));
        assert_eq!(
            defaults.with_changes(unknown).err().map(|e| e.0),
            Some("limits.nonsense".to_string())
        );
    }

    #[test]
    fn stored_fields_that_do_not_parse_keep_their_defaults() {
        let defaults = SiteSettings::default();
        let loaded = SiteSettings::from_stored(
            &defaults,
            r#"{"name": "Kept", "registration": "sometimes", "from_the_future": 1}"#,
        );
        assert_eq!(loaded.name, "Kept");
        assert_eq!(loaded.registration, Registration::Open);
        assert_eq!(SiteSettings::from_stored(&defaults, "not json"), defaults);
    }

    #[test]
    fn validation_names_each_field() {
        let mut s = SiteSettings {
            name: " ".into(),
            base_url: "https://forum.example.com/".into(),
            accent_colour: "blue".into(),
            contact_email: "nobody".into(),
            ..SiteSettings::default()
        };
        s.footer_links.push(FooterLink {
            label: "Docs".into(),
            url: "javascript:alert(1)".into(),
        });
        let errors = s.validate();
        for field in [
            "name",
            "base_url",
            "accent_colour",
            "contact_email",
            "footer_links",
        ] {
            assert!(errors.get(field).is_some(), "{field}: {errors:?}");
        }
        assert!(SiteSettings::default().validate().is_empty());
        assert!(check_base_url("http://127.0.0.1:8080").is_ok());
        assert!(check_base_url("https://forum.example.com/forum").is_err());
        assert_eq!(parse_colour("#2F6feb"), Some((0x2f, 0x6f, 0xeb)));
        assert!(contrast_on_white((0, 0, 0)) > 20.9);
        let pale = SiteSettings {
            accent_colour: "#ffff00".into(),
            ..SiteSettings::default()
        };
        assert!(pale.validate().get("accent_colour").is_some());
        assert!(theme_css("#0b5cad").contains("--link: #0b5cad"));
        assert!(theme_css("red;}body{display:none").is_empty());
    }
}
