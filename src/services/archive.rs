//! Import and export of whole forums (docs/archive-format.md), and the built-in demo content,
//! which is an archive loaded through the same path.
//!
//! An archive file's uploads keep their bytes in a directory beside it (`forum.json` →
//! `forum.uploads/`), laid out as the forum's upload store lays them out: `export_file` writes
//! it, `import_file` checks every file is there before anything is written, then copies them
//! into the forum's store before the rows that name them.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use agora_store::{Archive, ImportStats, Store};
use anyhow::Context;
use axum::body::Bytes;
use indicatif::{ProgressBar, ProgressStyle};

use crate::blobs::{Blobs, file_key, thumb_key};

/// The demo forum a new database starts with (written for Agora, shaped like the seed page).
pub const DEMO: &str = include_str!("../../demo/demo-archive.json");

/// Excerpts in listings are at most this many characters.
pub const EXCERPT_CHARS: usize = 220;

/// Parses an archive; JSON errors say the line and column.
pub fn parse(text: &str) -> anyhow::Result<Archive> {
    serde_json::from_str(text).context("the archive is not valid JSON of the agora-archive format")
}

/// Fills the derived fields the store keeps beside the source: rendered HTML and excerpts.
pub fn render(archive: &mut Archive) {
    for user in &mut archive.users {
        user.signature_html = agora_markup::render(&user.signature);
    }
    // Mentions link to the archive's own members.
    let usernames: std::collections::HashMap<String, String> = archive
        .users
        .iter()
        .map(|u| (u.username.to_lowercase(), u.username.clone()))
        .collect();
    // Posts show the archive's uploads as the forum they came from did.
    let uploads: agora_markup::Uploads = archive
        .uploads
        .iter()
        .map(|u| {
            (
                u.token.clone(),
                crate::services::uploads::archived_reference(u),
            )
        })
        .collect();
    for thread in &mut archive.threads {
        if let Some(first) = thread.posts.first() {
            thread.excerpt = agora_markup::excerpt(&first.body, EXCERPT_CHARS);
        }
        for post in &mut thread.posts {
            let members: agora_markup::Mentionable = if post.body.contains('@') {
                agora_markup::mention_candidates(&post.body)
                    .into_iter()
                    .filter_map(|name| {
                        let user = usernames.get(&name.to_lowercase())?.clone();
                        Some((name, user))
                    })
                    .collect()
            } else {
                agora_markup::Mentionable::new()
            };
            post.body_html = agora_markup::render_post(&post.body, &members, &uploads);
        }
    }
}

/// Validates, renders and imports an archive into an empty forum, in one transaction. The
/// uploads' bytes must be in the forum's upload store already (as for `agora db copy`, which
/// keeps the store); [`import_with_files`] brings them from an archive's directory.
pub async fn import(
    store: &Store,
    archive: Archive,
    progress: Option<ProgressBar>,
) -> anyhow::Result<ImportStats> {
    import_as(store, archive, progress, false).await
}

async fn import_as(
    store: &Store,
    mut archive: Archive,
    progress: Option<ProgressBar>,
    demo: bool,
) -> anyhow::Result<ImportStats> {
    archive.validate()?;
    let total: u64 = archive.threads.iter().map(|t| t.posts.len() as u64).sum();
    let bar = progress.unwrap_or_else(ProgressBar::hidden);
    bar.set_length(total);
    bar.set_message("rendering");
    let archive = tokio::task::spawn_blocking(move || {
        render(&mut archive);
        archive
    })
    .await?;
    bar.set_message("writing");
    let tick = bar.clone();
    let stats = if demo {
        store.import_demo(Arc::new(archive)).await?
    } else {
        store
            .import(
                Arc::new(archive),
                Arc::new(move |posts| tick.set_position(posts)),
            )
            .await?
    };
    bar.finish_with_message("done");
    Ok(stats)
}

/// The archive as the file `agora export` writes: pretty JSON with a final newline.
pub fn to_json(archive: &Archive) -> anyhow::Result<String> {
    let mut text = serde_json::to_string_pretty(archive)?;
    text.push('\n');
    Ok(text)
}

/// A progress bar for the command line (drawn on stderr, hidden when it is not a terminal).
pub fn progress_bar(label: &'static str) -> ProgressBar {
    progress_bar_of(label, "posts")
}

/// A progress bar counting `unit`s.
pub fn progress_bar_of(label: &'static str, unit: &str) -> ProgressBar {
    let bar = ProgressBar::new(0);
    if let Ok(style) = ProgressStyle::with_template(&format!(
        "{{prefix}} {{bar:40}} {{pos}}/{{len}} {unit}, {{msg}} ({{elapsed}})"
    )) {
        bar.set_style(style);
    }
    bar.set_prefix(label);
    bar
}

/// The directory beside an archive file that holds its uploads' bytes: the file's name with
/// its extension replaced by `uploads` (`forum.json` → `forum.uploads`).
pub fn files_dir(path: &Path) -> PathBuf {
    path.with_extension("uploads")
}

/// The keys of an upload's bytes in an upload store (and in an archive's directory): the file,
/// then its thumbnails. A removed upload has none.
fn upload_keys(upload: &agora_store::archive::Upload) -> Vec<String> {
    if upload.removed.is_some() {
        return Vec::new();
    }
    std::iter::once(file_key(&upload.sha))
        .chain(
            upload
                .thumbnails
                .iter()
                .map(|thumbnail| thumb_key(&upload.sha, thumbnail)),
        )
        .collect()
}

/// Reads an archive file and imports it with the uploads' bytes from [`files_dir`] into
/// `blobs`.
pub async fn import_file(store: &Store, blobs: &Blobs, path: &Path) -> anyhow::Result<ImportStats> {
    let text = tokio::fs::read_to_string(path)
        .await
        .with_context(|| format!("cannot read {}", path.display()))?;
    let archive = parse(&text).with_context(|| format!("in {}", path.display()))?;
    import_with_files(
        store,
        blobs,
        archive,
        &files_dir(path),
        Some(progress_bar("importing")),
    )
    .await
}

/// Imports an archive whose uploads' bytes are in `dir` (see [`files_dir`]) into an empty
/// forum whose upload store is `blobs`. Every file is checked first (there, and its content
/// the hash the archive names): the first one missing or damaged is named with its upload,
/// and nothing is written. Then the bytes are copied into the store, and the rows written in
/// one transaction; if that fails, the bytes this import added are deleted again.
pub async fn import_with_files(
    store: &Store,
    blobs: &Blobs,
    archive: Archive,
    dir: &Path,
    progress: Option<ProgressBar>,
) -> anyhow::Result<ImportStats> {
    // Validation first: hashes and thumbnail names become paths below.
    archive.validate()?;
    if !store.is_empty().await? {
        return Err(agora_store::StoreError::NotEmpty.into());
    }
    check_files(&archive, dir).await?;
    let added = copy_files_in(&archive, dir, blobs).await?;
    let imported = import(store, archive, progress).await;
    if imported.is_err() {
        for key in &added {
            if let Err(e) = blobs.delete(key).await {
                tracing::warn!(key, error = %e, "could not delete a file of a failed import");
            }
        }
    }
    imported
}

/// Whether every file the archive's uploads need is in `dir`, each whole file with the
/// content its hash names. The error names the upload and the path.
async fn check_files(archive: &Archive, dir: &Path) -> anyhow::Result<()> {
    let mut checked = HashSet::new();
    for (i, upload) in archive.uploads.iter().enumerate() {
        for (k, key) in upload_keys(upload).into_iter().enumerate() {
            if !checked.insert(key.clone()) {
                continue;
            }
            let path = dir.join(&key);
            let named = || format!("uploads[{i}] (upload {}): {}", upload.token, path.display());
            if k > 0 {
                // A thumbnail: there is all we can tell.
                anyhow::ensure!(path.is_file(), "{}: the thumbnail is missing", named());
                continue;
            }
            let bytes = match tokio::fs::read(&path).await {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    anyhow::bail!("{}: the file is missing", named())
                }
                Err(e) => return Err(anyhow::Error::new(e).context(named())),
            };
            anyhow::ensure!(
                blake3::hash(&bytes).to_hex().as_str() == upload.sha,
                "{}: the file's content does not match its sha (changed or damaged)",
                named()
            );
        }
    }
    Ok(())
}

/// Copies the uploads' bytes from `dir` into `blobs` (content the store holds already is
/// left as it is); the keys it added.
async fn copy_files_in(
    archive: &Archive,
    dir: &Path,
    blobs: &Blobs,
) -> anyhow::Result<Vec<String>> {
    let mut added = Vec::new();
    let mut seen = HashSet::new();
    for upload in &archive.uploads {
        for key in upload_keys(upload) {
            if !seen.insert(key.clone()) || blobs.exists(&key).await? {
                continue;
            }
            let path = dir.join(&key);
            let bytes = tokio::fs::read(&path)
                .await
                .with_context(|| format!("cannot read {}", path.display()))?;
            blobs.put(&key, Bytes::from(bytes)).await?;
            added.push(key);
        }
    }
    Ok(added)
}

/// Copies the bytes of every upload not removed from the forum's store into `dir`, laid out
/// as the store lays them out, each content once; how many files it wrote. A file the store
/// lacks is an error naming its upload (the archive could not be imported without it).
async fn write_files(archive: &Archive, blobs: &Blobs, dir: &Path) -> anyhow::Result<u64> {
    let to = Blobs::local(dir)?;
    let mut written = HashSet::new();
    for upload in &archive.uploads {
        for key in upload_keys(upload) {
            if written.contains(&key) {
                continue;
            }
            let bytes = blobs.get(&key).await?.with_context(|| {
                format!(
                    "upload {}: {key} is missing from {}",
                    upload.token,
                    blobs.describe()
                )
            })?;
            to.put(&key, bytes).await?;
            written.insert(key);
        }
    }
    Ok(written.len() as u64)
}

/// Writes the whole forum to `path`, and its uploads' bytes (from `blobs`) into
/// [`files_dir`] beside it, replacing what an earlier export left there. Both are written
/// beside their targets first and renamed, so a failed export never leaves half of either.
pub async fn export_file(store: &Store, blobs: &Blobs, path: &Path) -> anyhow::Result<usize> {
    let bar = progress_bar("exporting");
    bar.set_message("reading");
    let archive = store.export().await?;
    let posts: usize = archive.threads.iter().map(|t| t.posts.len()).sum();
    bar.set_length(posts as u64);
    bar.set_position(posts as u64);
    let text = to_json(&archive)?;
    let dir = files_dir(path);
    anyhow::ensure!(
        dir != path,
        "{} would be its own uploads directory: give the archive another extension (.json)",
        path.display()
    );
    let tmp_dir = dir.with_extension("uploads.partial");
    if tmp_dir.exists() {
        tokio::fs::remove_dir_all(&tmp_dir)
            .await
            .with_context(|| format!("cannot remove {}", tmp_dir.display()))?;
    }
    if archive.uploads.iter().any(|u| u.removed.is_none()) {
        bar.set_message("copying uploads");
        write_files(&archive, blobs, &tmp_dir).await?;
    }
    let tmp = path.with_extension("partial");
    tokio::fs::write(&tmp, text)
        .await
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    if dir.exists() {
        tokio::fs::remove_dir_all(&dir)
            .await
            .with_context(|| format!("cannot replace {}", dir.display()))?;
    }
    if tmp_dir.exists() {
        tokio::fs::rename(&tmp_dir, &dir)
            .await
            .with_context(|| format!("cannot write {}", dir.display()))?;
    }
    tokio::fs::rename(&tmp, path)
        .await
        .with_context(|| format!("cannot write {}", path.display()))?;
    bar.finish_with_message("written");
    Ok(posts)
}

/// Loads the demo content when the forum is new and empty.
pub async fn load_demo_if_empty(store: &Store) -> anyhow::Result<Option<ImportStats>> {
    if !store.is_empty().await? {
        return Ok(None);
    }
    let archive = parse(DEMO).context("the built-in demo archive")?;
    match import_as(store, archive, None, true).await {
        Ok(stats) => Ok(Some(stats)),
        // Another node, started at the same moment, loaded it first.
        Err(err)
            if matches!(
                err.downcast_ref::<agora_store::StoreError>(),
                Some(agora_store::StoreError::NotEmpty)
            ) =>
        {
            Ok(None)
        }
        Err(err) => Err(err),
    }
}

/// Posts rendered again per transaction: large enough that a million posts take minutes, small
/// enough that each write holds the writer briefly.
const RERENDER_BATCH: usize = 500;

/// Renders every stored post again from its Markdown (the renderer changed: new languages
/// highlighted, a sanitiser rule), in batches of [`RERENDER_BATCH`] that are each one
/// transaction, then records [`agora_markup::VERSION`]. Returns the posts rendered. Safe to
/// run twice or on two nodes at once: a post's HTML depends only on its Markdown. The text
/// is unchanged, so the search index is left as it is.
pub async fn rerender_posts(store: &Store, progress: Option<ProgressBar>) -> anyhow::Result<u64> {
    if let Some(bar) = &progress {
        bar.set_length(store.post_count().await?.max(0) as u64);
    }
    let mut after = agora_store::PostId(0);
    let mut done = 0u64;
    loop {
        let batch = store.posts_to_render(after, RERENDER_BATCH).await?;
        let Some((last, _)) = batch.last() else {
            break;
        };
        after = *last;
        let count = batch.len() as u64;
        let members =
            crate::services::mentions::mentionable(store, batch.iter().map(|(_, md)| md.as_str()))
                .await?;
        let uploads =
            crate::services::uploads::references(store, batch.iter().map(|(_, md)| md.as_str()))
                .await?;
        // Rendering is CPU work: off the async workers.
        let rendered = tokio::task::spawn_blocking(move || {
            batch
                .into_iter()
                .map(|(id, markdown)| {
                    (id, agora_markup::render_post(&markdown, &members, &uploads))
                })
                .collect::<Vec<_>>()
        })
        .await?;
        store.set_rendered_html(rendered).await?;
        done += count;
        if let Some(bar) = &progress {
            bar.set_position(done);
        }
    }
    store.set_markup_version(agora_markup::VERSION).await?;
    Ok(done)
}

/// At start-up: renders every post again when the database's HTML was written by an older
/// renderer than this build's (never a newer one: an old node starting beside new ones leaves
/// their HTML alone). Returns how many posts it rendered, if it did.
pub async fn rerender_if_stale(store: &Store) -> anyhow::Result<Option<u64>> {
    if store.markup_version().await? >= agora_markup::VERSION {
        return Ok(None);
    }
    Ok(Some(rerender_posts(store, None).await?))
}
