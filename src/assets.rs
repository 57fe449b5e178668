//! Static files embedded in the binary, served under content-hashed names with a year-long,
//! immutable cache lifetime: a new build changes the name, never the content behind a name.

use std::collections::HashMap;
use std::sync::Arc;

use crate::http_cache::CachedBody;

const FILES: &[(&str, &str, &[u8])] = &[
    (
        "agora.css",
        "text/css; charset=utf-8",
        include_bytes!("../static/agora.css"),
    ),
    (
        "agora.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../static/agora.js"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_bytes!("../static/favicon.svg"),
    ),
];

pub struct Assets {
    by_name: HashMap<String, Arc<CachedBody>>,
    hrefs: HashMap<&'static str, String>,
}

impl Assets {
    pub fn new() -> Self {
        let mut by_name = HashMap::new();
        let mut hrefs = HashMap::new();
        for (name, content_type, bytes) in FILES {
            let hash = blake3::hash(bytes).to_hex();
            let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
            let hashed = format!("{stem}.{}.{ext}", &hash[..10]);
            hrefs.insert(*name, format!("/static/{hashed}"));
            by_name.insert(hashed, Arc::new(CachedBody::new(content_type, *bytes)));
        }
        Self { by_name, hrefs }
    }

    /// The hashed URL of an embedded file, e.g. `/static/agora.1a2b3c4d5e.css`.
    pub fn href(&self, name: &str) -> &str {
        self.hrefs
            .get(name)
            .map(String::as_str)
            .unwrap_or("/static/missing")
    }

    pub fn get(&self, hashed_name: &str) -> Option<&Arc<CachedBody>> {
        self.by_name.get(hashed_name)
    }
}

impl Default for Assets {
    fn default() -> Self {
        Self::new()
    }
}
