//! Uploads in an S3-compatible bucket: moto's server (PyPI `moto[server]`, installed into
//! target/moto by `.ci/run`), started by the test. A file uploaded on one node is served by
//! another on the same PostgreSQL database; redirects to pre-signed URLs read from the bucket;
//! `migrate` copies a directory's uploads into a bucket. Skipped, loudly, without moto.

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use agora::app::AppState;
use agora::config::{Config, S3Config, UploadServe, UploadStoreKind};
use agora_store::Role;
use axum::http::StatusCode;

use crate::uploads::{multipart, photo};
use crate::util::{Backend, Person, TestApp, TestResponse, both, config_for, postgres_url};

/// moto's S3 server on a free loopback port; stopped when dropped.
struct Moto {
    child: Child,
    port: u16,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    /// Started, or None (and a loud note) when moto is not installed.
    fn start() -> Option<Moto> {
        let server =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/moto/bin/moto_server");
        if !server.exists() {
            eprintln!(
                "\n!!! SKIPPED: moto is not installed ({}): an S3 upload test did not run. \
                 `.ci/run` installs it (python3 -m venv target/moto && target/moto/bin/pip \
                 install 'moto[server]==5.2.6').\n",
                server.display()
            );
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("free port: {e}"));
        let child = Command::new(server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start moto: {e}"));
        let moto = Moto { child, port };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "moto did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(moto)
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Makes a bucket (moto takes any credentials).
    fn bucket(&self, name: &str) -> S3Config {
        let (status, _) = http(&format!("{}/{name}", self.endpoint()), "PUT");
        assert_eq!(status, 200, "create bucket {name}");
        S3Config {
            bucket: name.into(),
            region: "us-east-1".into(),
            endpoint: self.endpoint(),
            access_key_id: "test".into(),
            secret_access_key: "test".into(),
            allow_http: true,
        }
    }
}

/// A plain HTTP/1.1 request to a loopback URL: (status, body).
fn http(url: &str, method: &str) -> (u16, Vec<u8>) {
    let rest = url
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("not http: {url}"));
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_string()), |(h, p)| (h, format!("/{p}")));
    let mut stream = std::net::TcpStream::connect(host).unwrap_or_else(|e| panic!("{url}: {e}"));
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .unwrap_or_else(|e| panic!("{e}"));
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end from {url}"));
    let head = String::from_utf8_lossy(&answer[..split]).to_string();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, answer[split + 4..].to_vec())
}

fn in_bucket(config: &mut Config, s3: &S3Config) {
    config.uploads.store = UploadStoreKind::S3;
    config.uploads.s3 = s3.clone();
}

async fn upload(app: &TestApp, person: &Person, name: &str, bytes: &[u8]) -> serde_json::Value {
    let (content_type, body) = multipart(&[], &[("file", name, bytes)]);
    let r: TestResponse = app
        .send_body(
            "POST",
            "/api/v1/uploads",
            &[
                ("content-type", content_type.as_str()),
                ("sec-fetch-site", "same-origin"),
                ("cookie", person.cookie.as_str()),
            ],
            body,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    r.json()
}

both!(
    async fn uploads_live_in_the_bucket_not_on_this_node(backend: Backend) {
        let Some(moto) = Moto::start() else { return };
        let s3 = moto.bucket("agora-one");
        let app = TestApp::configured(backend, |c| in_bucket(c, &s3)).await;
        let ann = app.person("ann", Role::Member).await;
        let bytes = photo(1800, 1000);
        let json = upload(&app, &ann, "photo.jpg", &bytes).await;
        let url = json["url"].as_str().unwrap_or_default().to_string();
        let served = app.get(&url).await;
        assert_eq!(served.status, StatusCode::OK);
        assert!(image::load_from_memory(&served.body).is_ok());
        // Nothing on this node's disk.
        assert!(!app.state.config.data_dir.join("uploads").exists());
        // In the bucket, under its content hash.
        let sha = blake3::hash(&served.body).to_hex().to_string();
        let key = agora::blobs::file_key(&sha);
        let bucket = agora::blobs::Blobs::s3(&s3).unwrap_or_else(|e| panic!("{e:#}"));
        let stored = bucket.get(&key).await.unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(stored.as_deref(), Some(&served.body[..]));
        // Removed: gone from the bucket too.
        let token = json["token"].as_str().unwrap_or_default();
        let r = app
            .send_body(
                "DELETE",
                &format!("/api/v1/uploads/{token}"),
                &[
                    ("cookie", ann.cookie.as_str()),
                    ("sec-fetch-site", "same-origin"),
                ],
                Vec::new(),
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
        assert!(!bucket.exists(&key).await.unwrap_or(true));
    }
);

/// Two nodes on one PostgreSQL database and one bucket: what node A took, node B serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_uploaded_on_node_a_is_served_by_node_b() {
    if postgres_url().is_none() {
        return;
    }
    let Some(moto) = Moto::start() else { return };
    let s3 = moto.bucket("agora-shared");
    let a = TestApp::configured(Backend::Postgres, |c| in_bucket(c, &s3)).await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut config = config_for(dir.path());
    config.database_url = match a.state.config.database() {
        Ok(agora_store::DatabaseUrl::Postgres(url)) => url,
        other => panic!("not PostgreSQL: {other:?}"),
    };
    in_bucket(&mut config, &s3);
    let b_state = AppState::open(config)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let b = TestApp::from_parts(b_state.clone(), agora::router::build(b_state));
    let ann = a.person("ann", Role::Member).await;
    let json = upload(&a, &ann, "photo.jpg", &photo(1800, 1000)).await;
    let url = json["url"].as_str().unwrap_or_default();
    let on_a = a.get(url).await;
    let on_b = b.get(url).await;
    assert_eq!(on_b.status, StatusCode::OK, "{}", on_b.text());
    assert_eq!(on_b.body, on_a.body);
    // The thumbnails too.
    let token = json["token"].as_str().unwrap_or_default();
    let row = a
        .store()
        .upload_by_token(token)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no upload {token}"));
    assert_eq!(row.thumbnails.len(), 2, "{row:?}");
    let thumb = format!("/uploads/{token}/t/{}", row.thumbnails[0]);
    let (a_thumb, b_thumb) = (a.get(&thumb).await, b.get(&thumb).await);
    assert_eq!(a_thumb.status, StatusCode::OK, "{thumb}");
    assert_eq!(b_thumb.body, a_thumb.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_go_to_a_presigned_url_that_reads_the_file() {
    let Some(moto) = Moto::start() else { return };
    let s3 = moto.bucket("agora-signed");
    let app = TestApp::configured(Backend::Sqlite, |c| {
        in_bucket(c, &s3);
        c.uploads.serve = UploadServe::Redirect;
    })
    .await;
    let ann = app.person("ann", Role::Member).await;
    let json = upload(&app, &ann, "photo.jpg", &photo(600, 400)).await;
    let r = app.get(json["url"].as_str().unwrap_or_default()).await;
    assert_eq!(r.status, StatusCode::TEMPORARY_REDIRECT, "{}", r.text());
    let location = r.header("location").unwrap_or_default().to_string();
    assert!(location.starts_with(&moto.endpoint()), "{location}");
    assert!(location.contains("X-Amz-Signature="), "{location}");
    let (status, body) = http(&location, "GET");
    assert_eq!(status, 200);
    assert!(image::load_from_memory(&body).is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_copies_a_directory_of_uploads_into_a_bucket() {
    let Some(moto) = Moto::start() else { return };
    let s3 = moto.bucket("agora-moved");
    let app = TestApp::empty(Backend::Sqlite).await;
    let ann = app.person("ann", Role::Member).await;
    let first = upload(&app, &ann, "one.jpg", &photo(1700, 900)).await;
    let second = upload(&app, &ann, "two.jpg", &photo(300, 200)).await;
    let from = agora::blobs::Blobs::open(&app.state.config.uploads, &app.state.config.data_dir)
        .unwrap_or_else(|e| panic!("{e:#}"));
    let to = agora::blobs::Blobs::from_url(
        &format!(
            "s3://agora-moved?endpoint={}&region=us-east-1&allow_http=true",
            moto.endpoint()
        ),
        &s3,
    )
    .unwrap_or_else(|e| panic!("{e:#}"));
    let done = agora::services::uploads::migrate(&from, &to, None)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    // Two files and the first one's two thumbnails.
    assert_eq!((done.copied, done.skipped), (4, 0), "{done:?}");
    let again = agora::services::uploads::migrate(&from, &to, None)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!((again.copied, again.skipped), (0, 4));
    // A node on the same database, now reading the bucket, serves both.
    let mut config = app.state.config.clone();
    in_bucket(&mut config, &s3);
    config.data_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}")).keep();
    config.database_url = match app.state.config.database() {
        Ok(agora_store::DatabaseUrl::Sqlite(path)) => path.display().to_string(),
        other => panic!("{other:?}"),
    };
    let store = app.reopen_store().await;
    let state = AppState::new(store, config).unwrap_or_else(|e| panic!("{e:#}"));
    let moved = TestApp::from_parts(state.clone(), agora::router::build(state));
    for json in [first, second] {
        let r = moved.get(json["url"].as_str().unwrap_or_default()).await;
        assert_eq!(r.status, StatusCode::OK);
    }
}
