//! The upload store: where uploaded files' bytes live, by content hash. A directory of this
//! node's (`uploads.store = "local"`), or an S3-compatible bucket that every node shares
//! (`"s3"`), both behind `object_store`'s one interface, so nothing else knows which.
//!
//! Keys: `files/AB/HASH` for a file as stored, `thumbs/AB/HASH/WxH.EXT` for its thumbnails
//! (`AB`: the hash's first two characters, so no directory grows past a few thousand entries).
//! Identical files share a key, so they are stored once.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::body::Bytes;
use futures_util::StreamExt as _;
use object_store::path::Path as Key;
use object_store::signer::Signer as _;
use object_store::{ObjectStore, ObjectStoreExt as _};

use crate::config::{S3Config, UploadStoreKind, UploadsConfig};

/// Where uploads are kept.
#[derive(Clone, Debug)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
    /// The bucket again, for pre-signed URLs (None for a directory).
    s3: Option<Arc<object_store::aws::AmazonS3>>,
    description: String,
}

/// The key of a stored file.
pub fn file_key(sha: &str) -> String {
    format!("files/{}/{sha}", sha.get(..2).unwrap_or("00"))
}

/// The key of one of its thumbnails (`thumbnail`: `WxH.EXT`).
pub fn thumb_key(sha: &str, thumbnail: &str) -> String {
    format!("thumbs/{}/{sha}/{thumbnail}", sha.get(..2).unwrap_or("00"))
}

impl Blobs {
    /// The store the configuration names.
    pub fn open(config: &UploadsConfig, data_dir: &Path) -> anyhow::Result<Blobs> {
        match config.store {
            UploadStoreKind::Local => {
                let dir = if config.dir.as_os_str().is_empty() {
                    data_dir.join("uploads")
                } else {
                    config.dir.clone()
                };
                Blobs::local(&dir)
            }
            UploadStoreKind::S3 => Blobs::s3(&config.s3),
        }
    }

    /// A directory (made if missing).
    pub fn local(dir: &Path) -> anyhow::Result<Blobs> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("could not make the upload directory {}", dir.display()))?;
        let store = object_store::local::LocalFileSystem::new_with_prefix(dir)
            .with_context(|| format!("could not open the upload directory {}", dir.display()))?;
        Ok(Blobs {
            store: Arc::new(store),
            s3: None,
            description: format!("the directory {}", dir.display()),
        })
    }

    /// An S3-compatible bucket.
    pub fn s3(config: &S3Config) -> anyhow::Result<Blobs> {
        anyhow::ensure!(
            !config.bucket.is_empty(),
            "uploads.store is \"s3\" but uploads.s3.bucket is empty"
        );
        let mut builder = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(&config.bucket)
            .with_region(&config.region)
            .with_allow_http(config.allow_http);
        if !config.endpoint.is_empty() {
            // A server of its own (MinIO, moto, …) answers at its address, not a bucket host.
            builder = builder
                .with_endpoint(&config.endpoint)
                .with_virtual_hosted_style_request(false);
        }
        if !config.access_key_id.is_empty() {
            builder = builder
                .with_access_key_id(&config.access_key_id)
                .with_secret_access_key(&config.secret_access_key);
        }
        let bucket = Arc::new(
            builder
                .build()
                .with_context(|| format!("could not use the bucket {}", config.bucket))?,
        );
        let where_ = if config.endpoint.is_empty() {
            String::new()
        } else {
            format!(" at {}", config.endpoint)
        };
        Ok(Blobs {
            store: bucket.clone(),
            s3: Some(bucket),
            description: format!("the bucket s3://{}{where_}", config.bucket),
        })
    }

    /// A store named by a URL, for `agora uploads migrate --to`: `s3://BUCKET` (with
    /// `?endpoint=…&region=…&allow_http=true`; credentials from the environment or the
    /// config's `uploads.s3`), or `file:///DIR` / a plain directory path.
    pub fn from_url(url: &str, defaults: &S3Config) -> anyhow::Result<Blobs> {
        if let Some(rest) = url.strip_prefix("s3://") {
            let parsed = url::Url::parse(&format!("s3://{rest}"))
                .with_context(|| format!("{url:?} is not a URL"))?;
            let mut config = defaults.clone();
            config.bucket = parsed.host_str().unwrap_or_default().to_string();
            for (key, value) in parsed.query_pairs() {
                match key.as_ref() {
                    "endpoint" => config.endpoint = value.into_owned(),
                    "region" => config.region = value.into_owned(),
                    "allow_http" => config.allow_http = value == "true",
                    other => anyhow::bail!(
                        "{url:?}: unknown setting {other:?} (endpoint, region, allow_http)"
                    ),
                }
            }
            return Blobs::s3(&config);
        }
        let dir = url.strip_prefix("file://").unwrap_or(url);
        anyhow::ensure!(
            !dir.is_empty(),
            "say where to: s3://BUCKET?endpoint=… or a directory"
        );
        Blobs::local(Path::new(dir))
    }

    /// What this store is, for logs and the dashboard.
    pub fn describe(&self) -> &str {
        &self.description
    }

    /// Whether this is a bucket (pre-signed redirects are possible).
    pub fn is_bucket(&self) -> bool {
        self.s3.is_some()
    }

    pub async fn put(&self, key: &str, bytes: Bytes) -> anyhow::Result<()> {
        self.store
            .put(&Key::from(key), bytes.into())
            .await
            .with_context(|| format!("could not store {key} in {}", self.description))?;
        Ok(())
    }

    /// The bytes under `key`; None if there are none.
    pub async fn get(&self, key: &str) -> anyhow::Result<Option<Bytes>> {
        match self.store.get(&Key::from(key)).await {
            Ok(found) => Ok(Some(found.bytes().await.with_context(|| {
                format!("could not read {key} from {}", self.description)
            })?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(anyhow::Error::new(e)
                .context(format!("could not read {key} from {}", self.description))),
        }
    }

    /// Whether `key` holds bytes.
    pub async fn exists(&self, key: &str) -> anyhow::Result<bool> {
        match self.store.head(&Key::from(key)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(anyhow::Error::new(e)
                .context(format!("could not look for {key} in {}", self.description))),
        }
    }

    /// Deletes `key` (nothing there is no error).
    pub async fn delete(&self, key: &str) -> anyhow::Result<()> {
        match self.store.delete(&Key::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(anyhow::Error::new(e)
                .context(format!("could not delete {key} from {}", self.description))),
        }
    }

    /// Deletes a file and every thumbnail of it.
    pub async fn delete_file(&self, sha: &str) -> anyhow::Result<()> {
        self.delete(&file_key(sha)).await?;
        let prefix = Key::from(format!("thumbs/{}/{sha}", sha.get(..2).unwrap_or("00")));
        let mut listed = self.store.list(Some(&prefix));
        while let Some(meta) = listed.next().await {
            match meta {
                Ok(meta) => self.delete(meta.location.as_ref()).await?,
                Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(anyhow::Error::new(e).context("could not list thumbnails")),
            }
        }
        Ok(())
    }

    /// Every key with its size, for a migration.
    pub fn list(&self) -> futures_util::stream::BoxStream<'static, anyhow::Result<(String, u64)>> {
        self.store
            .list(None)
            .map(|meta| {
                meta.map(|m| (m.location.to_string(), m.size))
                    .map_err(anyhow::Error::new)
            })
            .boxed()
    }

    /// A URL that reads `key` from the bucket for `valid` without credentials; None for a
    /// directory.
    pub async fn signed_url(&self, key: &str, valid: Duration) -> anyhow::Result<Option<String>> {
        let Some(bucket) = &self.s3 else {
            return Ok(None);
        };
        let url = bucket
            .signed_url(axum::http::Method::GET, &Key::from(key), valid)
            .await
            .with_context(|| format!("could not sign a URL for {key}"))?;
        Ok(Some(url.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_directory_keeps_files_and_thumbnails_and_deletes_them_together() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let blobs = Blobs::local(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let sha = "ab12";
        blobs
            .put(&file_key(sha), Bytes::from_static(b"full"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        blobs
            .put(
                &thumb_key(sha, "800x600.webp"),
                Bytes::from_static(b"thumb"),
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let got = blobs
            .get(&file_key(sha))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got.as_deref(), Some(&b"full"[..]));
        assert!(
            blobs
                .exists(&thumb_key(sha, "800x600.webp"))
                .await
                .unwrap_or(false)
        );
        blobs
            .delete_file(sha)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!blobs.exists(&file_key(sha)).await.unwrap_or(true));
        assert!(
            !blobs
                .exists(&thumb_key(sha, "800x600.webp"))
                .await
                .unwrap_or(true)
        );
        assert_eq!(blobs.get("files/no/such").await.ok().flatten(), None);
    }
}
