//! The one typed configuration: defaults, then a TOML file (`--config`), then `AGORA_*`
//! environment variables and command-line flags (clap merges those two).
//! `agora config example` prints `config/agora.example.toml`; a test keeps it in sync.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use agora_store::{DatabaseUrl, Synchronous};
use serde::{Deserialize, Serialize};

pub const EXAMPLE: &str = include_str!("../config/agora.example.toml");

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
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SiteConfig {
    pub name: String,
    pub description: String,
    /// Public address of the forum, used for canonical links and feeds.
    pub base_url: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// SQLite: read-only connections (reads run in parallel; writes go through one writer).
    /// PostgreSQL: twice this many pooled connections.
    pub read_connections: usize,
    /// "normal" survives a crash of the process; "full" also survives power loss.
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
pub struct CacheConfig {
    /// Rendered anonymous pages kept in memory (0 turns the cache off).
    pub max_pages: usize,
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
        }
    }
}

impl Default for SiteConfig {
    fn default() -> Self {
        Self {
            name: "Agora".into(),
            description: "Questions and answers for developers.".into(),
            base_url: "http://127.0.0.1:8080".into(),
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            read_connections: 4,
            synchronous: Synchronous::Normal,
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
            max_age_secs: 60,
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
    fn unknown_keys_are_refused() {
        let err = Config::from_toml("listne = \"x\"")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("listne"), "{err}");
    }
}
