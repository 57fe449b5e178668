//! The one typed configuration: defaults, then a TOML file (`--config`), then `AGORA_*`
//! environment variables and command-line flags (clap merges those two).
//! `agora config example` prints `config/agora.example.toml`; a test keeps it in sync.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use agora_store::{DatabaseUrl, Synchronous};
use serde::{Deserialize, Serialize};

pub const EXAMPLE: &str = include_str!("../config/agora.example.toml");

/// The public address a forum has until someone sets one: links in emails and feeds then
/// point at this machine, which start-up and the dashboard warn about.
pub const DEFAULT_BASE_URL: &str = "http://127.0.0.1:8080";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP server listens on.
    pub listen: SocketAddr,
    /// Directory for the database and other files the forum keeps.
    pub data_dir: PathBuf,
    /// Database URL; empty means `<data_dir>/agora.db`.
    pub database_url: String,
    /// Load the built-in demo content into a new, empty database.
    pub demo: bool,
    /// Reverse proxies (addresses or networks) whose X-Forwarded-For is believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub site: SiteConfig,
    pub database: DatabaseConfig,
    pub views: ViewsConfig,
    pub cache: CacheConfig,
    pub accounts: AccountsConfig,
    pub email: EmailConfig,
    pub limits: LimitsConfig,
    pub search: SearchConfig,
    pub uploads: UploadsConfig,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccountsConfig {
    /// Days a session lasts without being used (each use extends it).
    pub session_days: u64,
    /// Members may post only after verifying their email address.
    pub require_verified_email: bool,
    /// Argon2id memory cost in KiB and passes (OWASP's minimum: 19456 KiB, 2 passes).
    pub password_memory_kib: u32,
    pub password_passes: u32,
    /// Minutes an emailed password-reset link stays valid.
    pub reset_link_minutes: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmailConfig {
    /// SMTP server, e.g. "smtps://user:password@smtp.example.com" or
    /// "smtp://localhost:25?tls=required". Empty: emails are written as .eml files to
    /// `<data_dir>/outbox`.
    pub smtp_url: String,
    /// The From address of every email.
    pub from: String,
    /// Seconds a notification waits before it is emailed (cancelled if it is read meanwhile,
    /// or its post goes); several of one thread go out as one message.
    pub notify_delay_secs: u64,
    /// Someone seen on the forum within this many seconds is not emailed (they see the bell).
    /// Presence is recorded at most once a minute, so under 60 a member reading along may be
    /// taken for away.
    pub away_secs: u64,
    /// The most notification emails one account gets in a day.
    pub daily_cap: u32,
}

/// Abuse limits: each is "at most `n` per `secs` seconds"; 0 turns one off.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    pub sign_in_per_ip: Rate,
    pub sign_in_per_account: Rate,
    pub sign_up_per_ip: Rate,
    pub reset_per_ip: Rate,
    pub post_per_account: Rate,
    pub post_per_ip: Rate,
    pub boost_per_account: Rate,
    pub flag_per_account: Rate,
    /// Posts (threads and replies) an account may write in its first day; 0: no such limit.
    pub new_account_posts: u32,
    /// Links one post of an account in its first day may hold.
    pub new_account_links: u32,
}

/// `n` events per `secs` seconds, refilled evenly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    pub n: u32,
    pub secs: u64,
}

impl Rate {
    pub const fn new(n: u32, secs: u64) -> Self {
        Self { n, secs }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SiteConfig {
    pub name: String,
    pub description: String,
    /// Public address of the forum, used for canonical links and feeds.
    pub base_url: String,
    /// `Strict-Transport-Security` max-age in seconds; 0 sends no header. Sent only when
    /// `base_url` is https (see [`Config::hsts`]).
    pub hsts_max_age_secs: u64,
    /// Adds `includeSubDomains` to that header.
    pub hsts_include_subdomains: bool,
    /// The defaults below (and `name`, `description`, `base_url`) are what an administrator
    /// starts from in /admin/settings; what they save there wins over this file.
    /// "#RRGGBB", or empty for the built-in blue.
    pub accent_colour: String,
    /// Links in the footer: `{ label = "Docs", url = "https://…" }`.
    pub footer_links: Vec<crate::settings::FooterLink>,
    /// Shown on the about page; empty: not shown.
    pub contact_email: String,
    /// Who may sign up: "open", "approval", "invitation" or "closed".
    pub registration: crate::settings::Registration,
    /// Whether /users lists members publicly.
    pub member_directory: bool,
    /// Who may create tags while writing a thread: "admins" (only in /admin), "staff",
    /// or "members" (accounts at least `tag_creation_min_days` old).
    pub tag_creation: crate::settings::TagCreation,
    pub tag_creation_min_days: u32,
    /// The about, guidelines, terms and privacy pages, in Markdown; empty pages are not linked.
    pub about: String,
    pub guidelines: String,
    pub terms: String,
    pub privacy: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// SQLite: read-only connections (reads run in parallel; writes go through one writer).
    /// PostgreSQL: twice this many pooled connections.
    pub read_connections: usize,
    /// "full" (default): every acknowledged write survives power loss. "normal": survives a
    /// crash of the process, but the last commits before a power loss can be lost.
    pub synchronous: Synchronous,
    /// PostgreSQL only: a read replica for pages that tolerate lag (listings); empty for none.
    pub replica_url: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ViewsConfig {
    /// Seconds between writes of buffered view counts to the database.
    pub flush_interval_secs: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SearchConfig {
    /// Memory the indexer's writer may buffer before it flushes, in MiB.
    pub writer_memory_mb: usize,
    /// Threads and memory (MiB per thread) for a full rebuild (`agora search reindex`).
    pub rebuild_threads: usize,
    pub rebuild_memory_mb: usize,
    /// Shortest time between two index commits while changes keep coming, in milliseconds.
    pub commit_interval_ms: u64,
    /// Longest the indexer waits before reading the change log again, in milliseconds, even
    /// when no change was announced (another node's, say).
    pub poll_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CacheConfig {
    /// Rendered anonymous pages kept in memory (0 turns the cache off).
    pub max_pages: usize,
    /// Memory the kept pages may take, in MiB (bodies, their compressed copies, and the rows
    /// kept beside thread pages); the least used go first.
    pub max_mb: u64,
    /// Longest a cached page is served, in seconds, so relative times stay fresh.
    pub max_age_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("agora-data"),
            database_url: String::new(),
            demo: true,
            trusted_proxies: Vec::new(),
            site: SiteConfig::default(),
            database: DatabaseConfig::default(),
            views: ViewsConfig::default(),
            cache: CacheConfig::default(),
            accounts: AccountsConfig::default(),
            email: EmailConfig::default(),
            limits: LimitsConfig::default(),
            search: SearchConfig::default(),
            uploads: UploadsConfig::default(),
        }
    }
}

/// Where uploaded files are kept and how they are served. What members may upload (types,
/// sizes, quotas) is set in /admin/settings; the values here are its defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UploadsConfig {
    /// "local": files under `dir` (one node); "s3": an S3-compatible bucket that every node
    /// shares (run several nodes on PostgreSQL with this).
    pub store: UploadStoreKind,
    /// With `store = "local"`: the directory; empty means `<data_dir>/uploads`.
    pub dir: PathBuf,
    pub s3: S3Config,
    /// "proxy": Agora serves every file, with an ETag and a year's caching; "redirect": a
    /// file's address answers with a redirect to a pre-signed URL of the bucket (s3 only),
    /// valid `redirect_secs`.
    pub serve: UploadServe,
    pub redirect_secs: u64,
    /// Another origin (e.g. "https://files.example.com", pointed at this server) that serves
    /// the uploads: the forum's own `/uploads/…` addresses redirect there, and that host
    /// serves nothing else. Empty: uploads are served from the forum's origin, sandboxed.
    pub origin: String,
    /// Defaults for /admin/settings: the largest file in KiB, the bytes an account may upload
    /// in a day (MiB), and in its first day, and the file types allowed (by extension; every
    /// file's content is checked against its type).
    pub max_file_kb: u64,
    pub daily_mb: u64,
    pub new_account_daily_mb: u64,
    pub types: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UploadStoreKind {
    Local,
    S3,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UploadServe {
    Proxy,
    Redirect,
}

/// An S3-compatible bucket (AWS, MinIO, Ceph, R2, moto…).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3Config {
    pub bucket: String,
    pub region: String,
    /// Empty for AWS; the server's address otherwise (e.g. "http://127.0.0.1:9000").
    pub endpoint: String,
    /// Empty: taken from the environment (`AWS_ACCESS_KEY_ID`, …) as AWS's tools do.
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Allow an `http://` endpoint (a server on the same network).
    pub allow_http: bool,
}

impl Default for UploadsConfig {
    fn default() -> Self {
        Self {
            store: UploadStoreKind::Local,
            dir: PathBuf::new(),
            s3: S3Config::default(),
            serve: UploadServe::Proxy,
            redirect_secs: 300,
            origin: String::new(),
            max_file_kb: 8 * 1024,
            daily_mb: 100,
            new_account_daily_mb: 10,
            types: [
                "jpg", "jpeg", "png", "gif", "webp", "txt", "log", "crash", "ips", "json", "zip",
            ]
            .map(String::from)
            .to_vec(),
        }
    }
}

impl Default for S3Config {
    fn default() -> Self {
        Self {
            bucket: String::new(),
            region: "us-east-1".into(),
            endpoint: String::new(),
            access_key_id: String::new(),
            secret_access_key: String::new(),
            allow_http: false,
        }
    }
}

impl Default for SearchConfig {
    fn default() -> Self {
        Self {
            writer_memory_mb: 32,
            rebuild_threads: 2,
            rebuild_memory_mb: 128,
            commit_interval_ms: 200,
            poll_ms: 2000,
        }
    }
}

impl Default for SiteConfig {
    fn default() -> Self {
        Self {
            name: "Agora".into(),
            description: "Questions and answers for developers.".into(),
            base_url: DEFAULT_BASE_URL.into(),
            hsts_max_age_secs: 0,
            hsts_include_subdomains: false,
            accent_colour: String::new(),
            footer_links: Vec::new(),
            contact_email: String::new(),
            registration: crate::settings::Registration::Open,
            member_directory: true,
            tag_creation: crate::settings::TagCreation::Admins,
            tag_creation_min_days: 7,
            about: String::new(),
            guidelines: String::new(),
            terms: String::new(),
            privacy: String::new(),
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            read_connections: 4,
            synchronous: Synchronous::Full,
            replica_url: String::new(),
        }
    }
}

impl Default for ViewsConfig {
    fn default() -> Self {
        Self {
            flush_interval_secs: 5,
        }
    }
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            max_pages: 4096,
            max_mb: 384,
            max_age_secs: 60,
        }
    }
}

impl Default for AccountsConfig {
    fn default() -> Self {
        Self {
            session_days: 30,
            require_verified_email: false,
            password_memory_kib: 19456,
            password_passes: 2,
            reset_link_minutes: 60,
        }
    }
}

impl Default for EmailConfig {
    fn default() -> Self {
        Self {
            smtp_url: String::new(),
            from: "Agora <agora@localhost>".into(),
            notify_delay_secs: 600,
            away_secs: 300,
            daily_cap: 20,
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            sign_in_per_ip: Rate::new(20, 300),
            sign_in_per_account: Rate::new(10, 300),
            sign_up_per_ip: Rate::new(5, 3600),
            reset_per_ip: Rate::new(5, 3600),
            post_per_account: Rate::new(10, 60),
            post_per_ip: Rate::new(30, 60),
            boost_per_account: Rate::new(60, 60),
            flag_per_account: Rate::new(20, 3600),
            new_account_posts: 5,
            new_account_links: 2,
        }
    }
}

impl Config {
    /// Reads a TOML file over the defaults; unknown keys are an error naming them.
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read config file {}: {e}", path.display()))?;
        Self::from_toml(&text).map_err(|e| anyhow::anyhow!("config file {}: {e}", path.display()))
    }

    pub fn from_toml(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }

    /// The database to open: the configured URL, or the file in the data directory.
    pub fn database(&self) -> anyhow::Result<DatabaseUrl> {
        if self.database_url.trim().is_empty() {
            Ok(DatabaseUrl::in_data_dir(&self.data_dir))
        } else {
            Ok(DatabaseUrl::parse(self.database_url.trim())?)
        }
    }

    /// How the store is opened.
    pub fn store_options(&self) -> agora_store::StoreOptions {
        let replica = self.database.replica_url.trim();
        agora_store::StoreOptions {
            read_connections: self.database.read_connections,
            synchronous: self.database.synchronous,
            replica_url: (!replica.is_empty()).then(|| replica.to_string()),
            bulk: false,
        }
    }

    /// The `Strict-Transport-Security` header to send with every response, if any: when a
    /// max-age is set and the forum's public address is https. Agora speaks plain HTTP behind
    /// a proxy that terminates TLS, so the public address is what says browsers reach it over
    /// HTTPS (and browsers ignore the header on plain HTTP anyway).
    pub fn hsts(&self) -> Option<String> {
        let site = &self.site;
        if site.hsts_max_age_secs == 0 || !self.base_url().starts_with("https://") {
            return None;
        }
        let subdomains = if site.hsts_include_subdomains {
            "; includeSubDomains"
        } else {
            ""
        };
        Some(format!("max-age={}{subdomains}", site.hsts_max_age_secs))
    }

    /// The site address without a trailing slash, for absolute links.
    pub fn base_url(&self) -> &str {
        self.site.base_url.trim_end_matches('/')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_parses_to_the_defaults() {
        let parsed = Config::from_toml(EXAMPLE).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parsed, Config::default());
    }

    /// Every setting the struct has is documented in the example (and nothing else is).
    #[test]
    fn example_documents_every_setting() {
        fn keys(prefix: &str, value: &toml::Value, out: &mut Vec<String>) {
            if let toml::Value::Table(table) = value {
                for (k, v) in table {
                    let path = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    out.push(path.clone());
                    keys(&path, v, out);
                }
            }
        }
        let defaults = toml::Value::try_from(Config::default()).unwrap_or_else(|e| panic!("{e}"));
        let example: toml::Value = toml::from_str(EXAMPLE).unwrap_or_else(|e| panic!("{e}"));
        let (mut want, mut got) = (Vec::new(), Vec::new());
        keys("", &defaults, &mut want);
        keys("", &example, &mut got);
        want.sort();
        got.sort();
        assert_eq!(got, want);
    }

    #[test]
    fn hsts_needs_a_max_age_and_an_https_address() {
        let mut config = Config::default();
        assert_eq!(config.hsts(), None);
        config.site.hsts_max_age_secs = 31_536_000;
        assert_eq!(config.hsts(), None, "the default address is plain http");
        config.site.base_url = "https://forum.example.com/".into();
        assert_eq!(config.hsts().as_deref(), Some("max-age=31536000"));
        config.site.hsts_include_subdomains = true;
        assert_eq!(
            config.hsts().as_deref(),
            Some("max-age=31536000; includeSubDomains")
        );
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = Config::from_toml("listne = \"x\"")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("listne"), "{err}");
    }
}
