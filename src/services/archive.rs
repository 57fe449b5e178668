//! Import and export of whole forums (docs/archive-format.md), and the built-in demo content,
//! which is an archive loaded through the same path.

use std::path::Path;
use std::sync::Arc;

use agora_store::{Archive, ImportStats, Store};
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

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
            post.body_html = agora_markup::render_with_mentions(&post.body, &members);
        }
    }
}

/// Validates, renders and imports an archive into an empty forum, in one transaction.
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

pub async fn import_file(store: &Store, path: &Path) -> anyhow::Result<ImportStats> {
    let text = tokio::fs::read_to_string(path)
        .await
        .with_context(|| format!("cannot read {}", path.display()))?;
    let archive = parse(&text).with_context(|| format!("in {}", path.display()))?;
    import(store, archive, Some(progress_bar("importing"))).await
}

pub async fn export_file(store: &Store, path: &Path) -> anyhow::Result<usize> {
    let bar = progress_bar("exporting");
    bar.set_message("reading");
    let archive = store.export().await?;
    let posts: usize = archive.threads.iter().map(|t| t.posts.len()).sum();
    bar.set_length(posts as u64);
    bar.set_position(posts as u64);
    let text = to_json(&archive)?;
    // Write beside the target and rename, so a failed export never leaves half a file.
    let tmp = path.with_extension("partial");
    tokio::fs::write(&tmp, text)
        .await
        .with_context(|| format!("cannot write {}", tmp.display()))?;
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
