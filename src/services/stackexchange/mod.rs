//! `agora import stackexchange DIR`: a Stack Exchange data dump into the forum, keeping
//! attribution (CC BY-SA) and the source's ids, so a second run adds nothing and a newer dump
//! adds only what is new.
//!
//! **What becomes what.** Questions (`PostTypeId` 1) become question threads in one subtopic
//! (the operator's, or `imported/<site>` made for the import); answers (2) their replies, in
//! date order; `AcceptedAnswerId` the accepted answer; `Score` (or, with `Votes.xml`, the
//! up-votes) the boosts, as counts only; `Tags` (`<a><b>` or `|a|b|`) tags, made when missing,
//! described from `Tags.xml`'s excerpts; `ViewCount` the views. Users who wrote a post or an
//! edit become accounts without email or password (they cannot sign in), named from their
//! display names. Comments are kept under their post as a "Comments" list (a forum reader
//! expects them beside what they comment on, not as replies between answers). With
//! `PostHistory.xml`, body edits become revisions (their text is the author's Markdown, which
//! then is the post's); without it, the rendered HTML `Body` is turned into Markdown.
//! `PostLinks.xml` adds "Duplicate of:" (type 3) and "Linked:" (type 1) lines pointing at the
//! imported thread (or the original question when it is not here). Every post ends with where
//! it came from: the site, a link to the original, its author (linked to their profile there)
//! and the licence.
//!
//! **Streaming.** A first pass reads every file once with a pull parser and keeps only an
//! index: per question and answer its id, parent, date, author and byte offset; per comment
//! and body revision its post, date, author and offset; vote counts per post; links; the tags
//! used; the display names of users referred to. That is about 40 bytes a row (under a
//! megabyte for this repository's 1,657-post dump; about 4 GB for all of Stack Overflow), and
//! never the text. The second pass takes questions in id order, 100 at a time, reads each
//! one's rows back by offset, converts and renders them, and writes them in one transaction.
//!
//! **Bad input.** The first pass checks every field the import reads (ids, dates, numbers,
//! XML escapes) before anything is written, and names the file, line and field of the first
//! problem. Each batch commits whole, so an import stopped half-way (killed, a full disk) is
//! finished by running it again.

mod dump;
mod text;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use agora_store::archive::{self, Post, Revision, Thread};
use agora_store::{
    ImportPlace, PostOrigin, SourceKind, SourcedBatch, SourcedReplies, SourcedThread, SourcedUser,
    Store, ThreadId, ThreadKind, Timestamp,
};
use anyhow::Context;
use indicatif::ProgressBar;

pub use dump::DumpError;
use dump::{DumpFile, Row, RowReader};

/// Questions written per transaction.
const BATCH_QUESTIONS: usize = 100;
/// Stack Exchange's placeholder for a post whose owner is not known.
const UNKNOWN_USER: i64 = 0;

/// How to import.
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    /// The site the dump is from, e.g. `https://history.meta.stackexchange.com`: every
    /// imported post links back to it. Without it, the folder's name is used when it is a
    /// host name (`history.meta.stackexchange.com`), and the import refuses otherwise.
    pub site_url: Option<String>,
    /// The site's name as posts credit it [default: from the host:
    /// "History Meta Stack Exchange", "Stack Overflow"].
    pub site_name: Option<String>,
    /// Where the threads go, `area/subtopic`, made when missing [default:
    /// `imported/<site-name>`, in an area "Imported"].
    pub subtopic: Option<String>,
    /// Told the number of posts read so far (hidden when None).
    pub progress: Option<ProgressBar>,
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// The source's name in `import_sources` (the site's host).
    pub source: String,
    /// `area/subtopic` the threads went to.
    pub subtopic: String,
    /// New threads (questions).
    pub threads: u64,
    /// New posts: opening posts and replies.
    pub posts: u64,
    /// Of the replies, those added to threads an earlier run imported.
    pub appended: u64,
    /// Accounts made.
    pub users: u64,
    /// Tags made.
    pub tags: u64,
    /// Comments kept (in the new posts).
    pub comments: u64,
    /// Revisions kept (in the new posts).
    pub revisions: u64,
    /// Questions and answers already here (a second run skips them all).
    pub already: u64,
    /// Answers whose question is not in the dump, left out.
    pub orphans: u64,
    /// Rows of other post types (tag wikis, …), left out.
    pub other_posts: u64,
    /// Optional files found (`PostHistory.xml`, `Votes.xml`, `Tags.xml`, `PostLinks.xml`,
    /// `Comments.xml`).
    pub files: Vec<String>,
}

/// The site a dump is from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Site {
    /// `https://host`, no trailing slash.
    pub url: String,
    /// The host: the source's name in `import_sources`.
    pub host: String,
    pub name: String,
}

impl Site {
    /// From the options, or from the folder's name when it is a host name.
    pub fn resolve(dir: &Path, options: &ImportOptions) -> anyhow::Result<Site> {
        let given = match &options.site_url {
            Some(url) => url.trim().to_string(),
            None => {
                let folder = dir
                    .canonicalize()
                    .ok()
                    .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
                    .unwrap_or_default();
                if !looks_like_host(&folder) {
                    anyhow::bail!(
                        "cannot tell which site the dump in {} is from: give its address with \
                         --site-url (for example --site-url https://history.meta.stackexchange.com)",
                        dir.display()
                    );
                }
                folder
            }
        };
        let without_scheme = given
            .strip_prefix("https://")
            .or_else(|| given.strip_prefix("http://"))
            .unwrap_or(&given);
        let host = without_scheme
            .split('/')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        if !looks_like_host(&host) {
            anyhow::bail!("--site-url {given:?} is not a site's address (https://host)");
        }
        let scheme = if given.starts_with("http://") {
            "http"
        } else {
            "https"
        };
        let name = match &options.site_name {
            Some(name) if !name.trim().is_empty() => text::cut(name.trim(), 100),
            _ => site_name(&host),
        };
        Ok(Site {
            url: format!("{scheme}://{host}"),
            host,
            name,
        })
    }

    fn question_url(&self, id: i64) -> String {
        format!("{}/q/{id}", self.url)
    }

    fn answer_url(&self, id: i64) -> String {
        format!("{}/a/{id}", self.url)
    }

    fn user_url(&self, id: i64) -> String {
        format!("{}/users/{id}", self.url)
    }
}

fn looks_like_host(text: &str) -> bool {
    text.contains('.')
        && !text.starts_with('.')
        && !text.ends_with('.')
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
}

/// A site's name from its host: `history.meta.stackexchange.com` → "History Meta Stack
/// Exchange"; the sites with names of their own by name.
pub fn site_name(host: &str) -> String {
    let host = host.strip_prefix("www.").unwrap_or(host);
    let known = [
        ("stackoverflow.com", "Stack Overflow"),
        ("meta.stackoverflow.com", "Meta Stack Overflow"),
        ("serverfault.com", "Server Fault"),
        ("superuser.com", "Super User"),
        ("askubuntu.com", "Ask Ubuntu"),
        ("mathoverflow.net", "MathOverflow"),
        ("stackapps.com", "Stack Apps"),
        ("meta.stackexchange.com", "Meta Stack Exchange"),
    ];
    if let Some((_, name)) = known.iter().find(|(h, _)| *h == host) {
        return (*name).to_string();
    }
    let Some(site) = host.strip_suffix(".stackexchange.com") else {
        return host.to_string();
    };
    let words: Vec<String> = site
        .split(['.', '-'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars.next().map_or(String::new(), |c| {
                c.to_uppercase().chain(chars).collect::<String>()
            })
        })
        .collect();
    format!("{} Stack Exchange", words.join(" "))
}

// ------------------------------------------------------------------ the index (first pass)

struct QuestionEntry {
    id: i64,
    owner: i64,
    offset: u64,
}

struct AnswerEntry {
    parent: i64,
    created: i64,
    id: i64,
    owner: i64,
    offset: u64,
}

/// A comment or a body revision: what post, when, who, where.
struct Attached {
    post: i64,
    created: i64,
    id: i64,
    user: i64,
    offset: u64,
}

struct Link {
    post: i64,
    related: i64,
    kind: i64,
}

struct UserInfo {
    display_name: String,
    created: Timestamp,
}

/// What the first pass keeps: ids, offsets and small facts, never text (but display names).
struct Index {
    posts: DumpFile,
    comments_file: Option<DumpFile>,
    history_file: Option<DumpFile>,
    questions: Vec<QuestionEntry>,
    answers: Vec<AnswerEntry>,
    comments: Vec<Attached>,
    history: Vec<Attached>,
    upvotes: Option<HashMap<i64, i64>>,
    links: Vec<Link>,
    tags: BTreeMap<String, archive::Tag>,
    users: HashMap<i64, UserInfo>,
    /// When each referenced user first appears (for accounts the dump's Users.xml lacks).
    first_seen: HashMap<i64, Timestamp>,
    orphans: u64,
    other_posts: u64,
    files: Vec<String>,
}

/// Rows that share a post, found by binary search in a list sorted by post.
fn group<T>(list: &[T], key: i64, of: impl Fn(&T) -> i64) -> &[T] {
    let start = list.partition_point(|item| of(item) < key);
    let end = list.partition_point(|item| of(item) <= key);
    &list[start..end]
}

/// The author a row names: a user id; `user123` (how a deleted account shows) as 123; any
/// other name as the one unknown-user account.
fn author_id(row: &Row<'_>, id_field: &str, name_field: &str) -> Result<i64, DumpError> {
    if let Some(id) = row.opt_int(id_field)? {
        return Ok(id);
    }
    let name = row.get(name_field).unwrap_or("").trim();
    Ok(name
        .strip_prefix("user")
        .and_then(|n| n.parse::<i64>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(UNKNOWN_USER))
}

/// The body revisions: initial body, edit, rollback.
const BODY_REVISION_TYPES: [i64; 3] = [2, 5, 8];
const UPVOTE: i64 = 2;
const LINK_DUPLICATE: i64 = 3;
const LINK_LINKED: i64 = 1;

impl Index {
    fn build(dir: &Path) -> anyhow::Result<Index> {
        if !dir.is_dir() {
            anyhow::bail!("{} is not a folder", dir.display());
        }
        let posts = DumpFile::find(dir, "Posts.xml").with_context(|| {
            format!(
                "{} has no Posts.xml: is it an unpacked Stack Exchange data dump?",
                dir.display()
            )
        })?;
        let users_file = DumpFile::find(dir, "Users.xml")
            .with_context(|| format!("{} has no Users.xml", dir.display()))?;
        let mut index = Index {
            posts,
            comments_file: DumpFile::find(dir, "Comments.xml"),
            history_file: DumpFile::find(dir, "PostHistory.xml"),
            questions: Vec::new(),
            answers: Vec::new(),
            comments: Vec::new(),
            history: Vec::new(),
            upvotes: None,
            links: Vec::new(),
            tags: BTreeMap::new(),
            users: HashMap::new(),
            first_seen: HashMap::new(),
            orphans: 0,
            other_posts: 0,
            files: Vec::new(),
        };
        let mut excerpts: HashMap<i64, u64> = HashMap::new();
        let mut referenced = HashSet::new();
        let mut seen = |user: i64, at: Timestamp, referenced: &mut HashSet<i64>| {
            referenced.insert(user);
            index_first_seen(&mut index.first_seen, user, at);
        };

        let posts_file = index.posts.clone();
        posts_file.for_each_row(|row| {
            let id = row.int("Id")?;
            let kind = row.int("PostTypeId")?;
            let created = row.date("CreationDate")?;
            row.opt_int("Score")?;
            row.opt_int("ViewCount")?;
            row.opt_date("LastEditDate")?;
            match kind {
                1 => {
                    row.text("Body")?;
                    let title = row.text("Title")?;
                    if title.trim().is_empty() {
                        return Err(row.fail("Title", "is empty"));
                    }
                    row.opt_int("AcceptedAnswerId")?;
                    let owner = author_id(row, "OwnerUserId", "OwnerDisplayName")?;
                    seen(owner, created, &mut referenced);
                    for name in text::parse_tags(row.get("Tags").unwrap_or("")) {
                        let name = text::cut(&text::clean(&name), 50);
                        let slug = text::tag_slug(&name);
                        index.tags.entry(slug.clone()).or_insert(archive::Tag {
                            slug,
                            name,
                            description: String::new(),
                        });
                    }
                    index.questions.push(QuestionEntry {
                        id,
                        owner,
                        offset: row.offset,
                    });
                }
                2 => {
                    row.text("Body")?;
                    let parent = row.int("ParentId")?;
                    let owner = author_id(row, "OwnerUserId", "OwnerDisplayName")?;
                    seen(owner, created, &mut referenced);
                    index.answers.push(AnswerEntry {
                        parent,
                        created: created.micros(),
                        id,
                        owner,
                        offset: row.offset,
                    });
                }
                4 => {
                    // A tag wiki's excerpt: a tag's description, when Tags.xml names it.
                    excerpts.insert(id, row.offset);
                    index.other_posts += 1;
                }
                _ => index.other_posts += 1,
            }
            Ok(())
        })?;
        index.questions.sort_by_key(|q| q.id);
        index.answers.sort_by_key(|a| (a.parent, a.created, a.id));
        let question_ids: HashSet<i64> = index.questions.iter().map(|q| q.id).collect();
        index.orphans = index
            .answers
            .iter()
            .filter(|a| !question_ids.contains(&a.parent))
            .count() as u64;

        if let Some(file) = index.comments_file.clone() {
            index.files.push(file.name.clone());
            file.for_each_row(|row| {
                let post = row.int("PostId")?;
                let created = row.date("CreationDate")?;
                row.text("Text")?;
                row.opt_int("Score")?;
                let user = author_id(row, "UserId", "UserDisplayName")?;
                seen(user, created, &mut referenced);
                index.comments.push(Attached {
                    post,
                    created: created.micros(),
                    id: row.int("Id")?,
                    user,
                    offset: row.offset,
                });
                Ok(())
            })?;
            index.comments.sort_by_key(|c| (c.post, c.created, c.id));
        }

        if let Some(file) = index.history_file.clone() {
            index.files.push(file.name.clone());
            file.for_each_row(|row| {
                let kind = row.int("PostHistoryTypeId")?;
                let post = row.int("PostId")?;
                let created = row.date("CreationDate")?;
                let id = row.int("Id")?;
                if BODY_REVISION_TYPES.contains(&kind) {
                    row.text("Text")?;
                    let user = author_id(row, "UserId", "UserDisplayName")?;
                    seen(user, created, &mut referenced);
                    index.history.push(Attached {
                        post,
                        created: created.micros(),
                        id,
                        user,
                        offset: row.offset,
                    });
                }
                Ok(())
            })?;
            index.history.sort_by_key(|h| (h.post, h.created, h.id));
        }

        if let Some(file) = DumpFile::find(dir, "Votes.xml") {
            index.files.push(file.name.clone());
            let mut upvotes = HashMap::new();
            file.for_each_row(|row| {
                let post = row.int("PostId")?;
                if row.int("VoteTypeId")? == UPVOTE {
                    *upvotes.entry(post).or_insert(0) += 1;
                }
                Ok(())
            })?;
            index.upvotes = Some(upvotes);
        }

        if let Some(file) = DumpFile::find(dir, "PostLinks.xml") {
            index.files.push(file.name.clone());
            file.for_each_row(|row| {
                let post = row.int("PostId")?;
                let related = row.int("RelatedPostId")?;
                let kind = row.int("LinkTypeId")?;
                if kind == LINK_DUPLICATE || kind == LINK_LINKED {
                    index.links.push(Link {
                        post,
                        related,
                        kind,
                    });
                }
                Ok(())
            })?;
            index.links.sort_by_key(|l| (l.post, l.kind, l.related));
        }

        if let Some(file) = DumpFile::find(dir, "Tags.xml") {
            index.files.push(file.name.clone());
            let converter = text::converter();
            let mut reader = RowReader::open(&index.posts)?;
            file.for_each_row(|row| {
                let name = row.text("TagName")?;
                let excerpt = row.opt_int("ExcerptPostId")?;
                let slug = text::tag_slug(&text::cut(&text::clean(name), 50));
                if let (Some(tag), Some(offset)) = (
                    index.tags.get_mut(&slug),
                    excerpt.and_then(|id| excerpts.get(&id)),
                ) {
                    let post = reader.row_at(*offset)?;
                    let markdown = text::to_markdown(&converter, post.get("Body").unwrap_or(""));
                    tag.description = text::clean(&agora_markup::truncate_text(
                        &agora_markup::plain_text(&markdown),
                        crate::services::structure::DESCRIPTION_CHARS,
                    ));
                }
                Ok(())
            })?;
        }

        index.files.push(users_file.name.clone());
        users_file.for_each_row(|row| {
            let id = row.int("Id")?;
            let created = row.date("CreationDate")?;
            if referenced.contains(&id) {
                let name = text::clean(row.get("DisplayName").unwrap_or("").trim());
                index.users.insert(
                    id,
                    UserInfo {
                        display_name: name,
                        created,
                    },
                );
            }
            Ok(())
        })?;
        Ok(index)
    }

    fn answers_of(&self, question: i64) -> &[AnswerEntry] {
        group(&self.answers, question, |a| a.parent)
    }

    fn comments_of(&self, post: i64) -> &[Attached] {
        group(&self.comments, post, |c| c.post)
    }

    fn history_of(&self, post: i64) -> &[Attached] {
        group(&self.history, post, |h| h.post)
    }

    fn links_of(&self, post: i64) -> &[Link] {
        group(&self.links, post, |l| l.post)
    }

    /// The questions `post` links to with links of `kind`.
    fn related_of(&self, post: i64, kind: i64) -> Vec<i64> {
        self.links_of(post)
            .iter()
            .filter(|l| l.kind == kind)
            .map(|l| l.related)
            .collect()
    }

    fn question(&self, id: i64) -> Option<&QuestionEntry> {
        self.questions
            .binary_search_by_key(&id, |q| q.id)
            .ok()
            .map(|i| &self.questions[i])
    }

    /// A user's name as posts credit it.
    fn display_name(&self, id: i64) -> String {
        match self.users.get(&id) {
            Some(user) if !user.display_name.is_empty() => user.display_name.clone(),
            _ if id == UNKNOWN_USER => "unknown user".to_string(),
            _ => format!("user{}", id.unsigned_abs()),
        }
    }

    /// The account to make for a user.
    fn sourced_user(&self, id: i64) -> SourcedUser {
        let display_name = text::cut(&self.display_name(id), 80);
        let created_at = self
            .users
            .get(&id)
            .map(|u| u.created)
            .or_else(|| self.first_seen.get(&id).copied())
            .unwrap_or_else(Timestamp::now);
        SourcedUser {
            source_id: id,
            username: text::username_from(&display_name, id),
            display_name,
            created_at,
        }
    }
}

fn index_first_seen(first: &mut HashMap<i64, Timestamp>, user: i64, at: Timestamp) {
    first
        .entry(user)
        .and_modify(|t| {
            if at < *t {
                *t = at;
            }
        })
        .or_insert(at);
}

// ------------------------------------------------------------------ the import (second pass)

/// Imports the dump in `dir` (see the module's documentation); returns what it did.
///
/// Callable without a running server (the CLI) and from tests: the search index follows the
/// change log as after any write.
pub async fn import_dir(
    store: &Store,
    dir: &Path,
    options: &ImportOptions,
) -> anyhow::Result<ImportReport> {
    let site = Site::resolve(dir, options)?;
    let place = import_place(&site, options)?;
    let bar = options.progress.clone().unwrap_or_else(ProgressBar::hidden);
    bar.set_message("reading the dump");
    let folder = dir.to_path_buf();
    let index = Arc::new(tokio::task::spawn_blocking(move || Index::build(&folder)).await??);
    let importable = index.questions.len() as u64 + index.answers.len() as u64 - index.orphans;
    bar.set_length(importable);
    bar.set_message("writing");

    let subtopic = store.ensure_import_place(place).await?;
    let mut report = ImportReport {
        source: site.host.clone(),
        subtopic: subtopic.clone(),
        orphans: index.orphans,
        other_posts: index.other_posts,
        files: index.files.clone(),
        ..ImportReport::default()
    };
    report.tags = store
        .ensure_tags(index.tags.values().cloned().collect())
        .await?;

    let mut usernames: HashMap<i64, String> = HashMap::new();
    let mut threads_here: HashMap<i64, ThreadId> = HashMap::new();
    let mut next = 0;
    while next < index.questions.len() {
        let start = next;
        let end = batch_end(&index, start);
        next = end;
        let chunk = &index.questions[start..end];
        let question_ids: Vec<i64> = chunk.iter().map(|q| q.id).collect();
        let mut post_ids = question_ids.clone();
        for q in chunk {
            post_ids.extend(index.answers_of(q.id).iter().map(|a| a.id));
        }
        let rows = post_ids.len() as u64;
        let known_threads = store
            .imported_ids(&site.host, SourceKind::Thread, question_ids)
            .await?;
        let known_posts = store
            .imported_ids(&site.host, SourceKind::Post, post_ids)
            .await?;

        // What is new: whole questions, and answers to questions imported before.
        let mut plan = Plan::default();
        for (at, q) in chunk.iter().enumerate() {
            let answers: Vec<usize> = index
                .answers_of(q.id)
                .iter()
                .enumerate()
                .filter(|(_, a)| !known_posts.contains_key(&a.id))
                .map(|(i, _)| i)
                .collect();
            if !known_threads.contains_key(&q.id) && !known_posts.contains_key(&q.id) {
                plan.threads.push(start + at);
            } else if !answers.is_empty() {
                plan.replies.push((start + at, answers));
            }
        }
        let new_rows = plan
            .threads
            .iter()
            .map(|&q| 1 + index.answers_of(index.questions[q].id).len() as u64);
        let new_rows: u64 = new_rows.sum::<u64>()
            + plan
                .replies
                .iter()
                .map(|(_, a)| a.len() as u64)
                .sum::<u64>();
        report.already += rows - new_rows;
        if plan.threads.is_empty() && plan.replies.is_empty() {
            bar.inc(rows);
            continue;
        }

        // Their authors' accounts, made the first time they are needed.
        let mut needed = BTreeSet::new();
        for &q in &plan.threads {
            let question = &index.questions[q];
            needed.insert(question.owner);
            needed.extend(index.history_of(question.id).iter().map(|h| h.user));
            for answer in index.answers_of(question.id) {
                needed.insert(answer.owner);
                needed.extend(index.history_of(answer.id).iter().map(|h| h.user));
            }
        }
        for (q, answers) in &plan.replies {
            let all = index.answers_of(index.questions[*q].id);
            for &a in answers {
                needed.insert(all[a].owner);
                needed.extend(index.history_of(all[a].id).iter().map(|h| h.user));
            }
        }
        let missing: Vec<SourcedUser> = needed
            .iter()
            .filter(|id| !usernames.contains_key(id))
            .map(|&id| index.sourced_user(id))
            .collect();
        if !missing.is_empty() {
            let (names, made) = store.import_users(&site.host, missing).await?;
            usernames.extend(names);
            report.users += made;
        }
        let names: HashMap<i64, String> = needed
            .iter()
            .filter_map(|id| usernames.get(id).map(|n| (*id, n.clone())))
            .collect();

        // Where duplicate and linked questions are here.
        let targets: Vec<i64> = plan
            .threads
            .iter()
            .flat_map(|&q| index.links_of(index.questions[q].id))
            .map(|l| l.related)
            .filter(|id| !threads_here.contains_key(id))
            .collect();
        if !targets.is_empty() {
            let found = store
                .imported_ids(&site.host, SourceKind::Thread, targets)
                .await?;
            threads_here.extend(found.into_iter().map(|(s, t)| (s, ThreadId(t))));
        }
        let link_targets: HashMap<i64, ThreadId> = plan
            .threads
            .iter()
            .flat_map(|&q| index.links_of(index.questions[q].id))
            .filter_map(|l| threads_here.get(&l.related).map(|t| (l.related, *t)))
            .collect();

        let (index_ref, site_ref, subtopic_ref) = (index.clone(), site.clone(), subtopic.clone());
        let built = tokio::task::spawn_blocking(move || {
            let mut builder =
                Builder::new(&index_ref, &site_ref, &subtopic_ref, &names, &link_targets)?;
            builder.batch(&plan)
        })
        .await??;
        report.comments += built.comments;
        report.revisions += built.revisions;
        let outcome = store.import_sourced(Arc::new(built.batch)).await?;
        report.threads += outcome.threads.len() as u64;
        report.posts += outcome.posts;
        report.appended += outcome.appended;
        report.already += outcome.skipped;
        threads_here.extend(outcome.threads);
        bar.inc(rows);
    }
    bar.finish_with_message("done");
    Ok(report)
}

/// Where the batch starting at question `start` ends: after [`BATCH_QUESTIONS`], or before
/// the first question that links to one earlier in the batch (so that the link can point at
/// the thread, written by then).
fn batch_end(index: &Index, start: usize) -> usize {
    let end = (start + BATCH_QUESTIONS).min(index.questions.len());
    let first = index.questions[start].id;
    (start + 1..end)
        .find(|&i| {
            let id = index.questions[i].id;
            index.links_of(id).iter().any(|l| {
                l.related >= first && l.related < id && index.question(l.related).is_some()
            })
        })
        .unwrap_or(end)
}

/// Every thread imported from `site` (its host, e.g. `history.meta.stackexchange.com`) that
/// this forum still has, by the Stack Exchange id of its question.
pub async fn thread_ids(store: &Store, site: &str) -> anyhow::Result<HashMap<i64, ThreadId>> {
    Ok(store.imported_threads(site).await?.into_iter().collect())
}

/// Where the threads go: the operator's `area/subtopic`, or `imported/<site-name>`.
fn import_place(site: &Site, options: &ImportOptions) -> anyhow::Result<ImportPlace> {
    let site_slug = agora_store::slugify(&site.name);
    let (area, sub) = match &options.subtopic {
        Some(path) => path
            .trim()
            .trim_matches('/')
            .split_once('/')
            .map(|(a, s)| (a.to_string(), s.to_string()))
            .with_context(|| format!("--subtopic {path:?} must be written area/subtopic"))?,
        None => ("imported".to_string(), site_slug),
    };
    for slug in [&area, &sub] {
        if !archive::is_slug(slug) {
            anyhow::bail!("--subtopic: {slug:?} is not a slug (a-z, 0-9 and -)");
        }
    }
    let area_name = if area == "imported" {
        "Imported".to_string()
    } else {
        title_case(&area)
    };
    Ok(ImportPlace {
        area_slug: area,
        area_name,
        subtopic_slug: sub,
        subtopic_name: site.name.clone(),
        subtopic_description: format!(
            "Questions and answers from {} ({}), licensed CC BY-SA by their authors.",
            site.name, site.url
        ),
    })
}

fn title_case(slug: &str) -> String {
    slug.split('-')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars.next().map_or(String::new(), |c| {
                c.to_uppercase().chain(chars).collect::<String>()
            })
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// What one batch writes: indexes into `Index::questions` (new threads), and for questions
/// imported before, indexes into their answers (new replies).
#[derive(Default)]
struct Plan {
    threads: Vec<usize>,
    replies: Vec<(usize, Vec<usize>)>,
}

struct Built {
    batch: SourcedBatch,
    comments: u64,
    revisions: u64,
}

/// The licence a post's text is under, by when it was last changed (Stack Exchange's own
/// dates for moving from one version to the next). Named, not linked: search indexes the words
/// of link addresses, and every post carrying the same licence address would only add noise.
fn licence(at: Timestamp) -> &'static str {
    let moved = |text: &str| dump::parse_date(text).map_or(0, |t| t.micros());
    if at.micros() < moved("2011-04-08T00:00:00") {
        "CC BY-SA 2.5"
    } else if at.micros() < moved("2018-05-02T00:00:00") {
        "CC BY-SA 3.0"
    } else {
        "CC BY-SA 4.0"
    }
}

fn day(at: Timestamp) -> String {
    at.to_datetime().format("%Y-%m-%d").to_string()
}

/// Builds a batch's records from the dump (blocking: file reads, conversion, rendering).
struct Builder<'a> {
    index: &'a Index,
    site: &'a Site,
    subtopic: &'a str,
    names: &'a HashMap<i64, String>,
    targets: &'a HashMap<i64, ThreadId>,
    converter: htmd::HtmlToMarkdown,
    posts: RowReader<'a>,
    comments: Option<RowReader<'a>>,
    history: Option<RowReader<'a>>,
    counted_comments: u64,
    counted_revisions: u64,
}

enum Kind {
    Question,
    Answer,
}

impl<'a> Builder<'a> {
    fn new(
        index: &'a Index,
        site: &'a Site,
        subtopic: &'a str,
        names: &'a HashMap<i64, String>,
        targets: &'a HashMap<i64, ThreadId>,
    ) -> Result<Self, DumpError> {
        Ok(Self {
            index,
            site,
            subtopic,
            names,
            targets,
            converter: text::converter(),
            posts: RowReader::open(&index.posts)?,
            comments: index
                .comments_file
                .as_ref()
                .map(RowReader::open)
                .transpose()?,
            history: index
                .history_file
                .as_ref()
                .map(RowReader::open)
                .transpose()?,
            counted_comments: 0,
            counted_revisions: 0,
        })
    }

    fn batch(&mut self, plan: &Plan) -> Result<Built, DumpError> {
        let mut batch = SourcedBatch {
            source: self.site.host.clone(),
            ..SourcedBatch::default()
        };
        for &q in &plan.threads {
            batch.threads.push(self.thread(&self.index.questions[q])?);
        }
        for (q, answers) in &plan.replies {
            batch
                .replies
                .push(self.replies(&self.index.questions[*q], answers)?);
        }
        // Rendered here, off the async runtime, like an archive's posts.
        for sourced in &mut batch.threads {
            let thread = &mut sourced.thread;
            if let Some(first) = thread.posts.first() {
                thread.excerpt =
                    agora_markup::excerpt(&first.body, crate::services::archive::EXCERPT_CHARS);
            }
            for post in &mut thread.posts {
                post.body_html = agora_markup::render(&post.body);
            }
        }
        for replies in &mut batch.replies {
            for post in &mut replies.posts {
                post.body_html = agora_markup::render(&post.body);
            }
        }
        Ok(Built {
            batch,
            comments: self.counted_comments,
            revisions: self.counted_revisions,
        })
    }

    fn username(&self, user: i64) -> String {
        self.names
            .get(&user)
            .cloned()
            .unwrap_or_else(|| format!("user{}", user.unsigned_abs()))
    }

    fn thread(&mut self, question: &QuestionEntry) -> Result<SourcedThread, DumpError> {
        let index = self.index;
        let row = self.posts.row_at(question.offset)?;
        let title = text::cut(&text::clean(row.text("Title")?.trim()), 300);
        let accepted = row.opt_int("AcceptedAnswerId")?;
        let views = row.opt_int("ViewCount")?.unwrap_or(0).max(0);
        let mut tags: Vec<String> = text::parse_tags(row.get("Tags").unwrap_or(""))
            .iter()
            .map(|name| text::tag_slug(&text::cut(&text::clean(name), 50)))
            .collect();
        let mut seen = HashSet::new();
        tags.retain(|slug| seen.insert(slug.clone()));
        tags.truncate(archive::MAX_TAGS);
        let top = self.duplicate_lines(question.id)?;
        let linked = self.linked_line(question.id)?;
        let (first, origin) = self.post(&row, Kind::Question, None, 1, &top, &linked)?;
        let mut floor = first.created_at;
        let mut posts = vec![first];
        let mut origins = vec![origin];
        let mut accepted_post = None;
        for (n, answer) in index.answers_of(question.id).iter().enumerate() {
            let row = self.posts.row_at(answer.offset)?;
            let placeholder = n as i64 + 2;
            let (post, origin) = self.post(&row, Kind::Answer, Some(floor), placeholder, "", "")?;
            floor = post.created_at;
            if accepted == Some(answer.id) {
                accepted_post = Some(placeholder);
            }
            posts.push(post);
            origins.push(origin);
        }
        Ok(SourcedThread {
            thread: Thread {
                id: 0,
                subtopic: self.subtopic.to_string(),
                title: if title.is_empty() {
                    format!("Question {}", question.id)
                } else {
                    title
                },
                kind: ThreadKind::Question,
                tags,
                pinned: None,
                locked: None,
                views,
                accepted_post_id: accepted_post,
                recommended_post_id: None,
                posts,
                excerpt: String::new(),
            },
            source_id: question.id,
            origins,
        })
    }

    fn replies(
        &mut self,
        question: &QuestionEntry,
        answers: &[usize],
    ) -> Result<SourcedReplies, DumpError> {
        let accepted = self
            .posts
            .row_at(question.offset)?
            .opt_int("AcceptedAnswerId")?;
        let all = self.index.answers_of(question.id);
        let mut replies = SourcedReplies {
            thread_source_id: question.id,
            posts: Vec::new(),
            origins: Vec::new(),
            accepted: None,
        };
        let mut floor = None;
        for &a in answers {
            let answer = &all[a];
            let row = self.posts.row_at(answer.offset)?;
            let (post, origin) = self.post(&row, Kind::Answer, floor, 0, "", "")?;
            floor = Some(post.created_at);
            if accepted == Some(answer.id) {
                replies.accepted = Some(answer.id);
            }
            replies.posts.push(post);
            replies.origins.push(origin);
        }
        Ok(replies)
    }

    /// One question or answer: its Markdown (from its revisions, or its HTML), what it is
    /// decorated with, its author, revisions and boosts.
    fn post(
        &mut self,
        row: &Row<'_>,
        kind: Kind,
        floor: Option<Timestamp>,
        placeholder: i64,
        top: &str,
        linked: &str,
    ) -> Result<(Post, PostOrigin), DumpError> {
        let id = row.int("Id")?;
        let created = row.date("CreationDate")?;
        // Replies keep their order: one made "before" the post above it (merged questions)
        // is shown as made at the same moment.
        let created = floor.map_or(created, |f| created.max(f));
        let owner = author_id(row, "OwnerUserId", "OwnerDisplayName")?;
        let owner_name = match row.get("OwnerDisplayName") {
            Some(name) if row.opt_int("OwnerUserId")?.is_none() && !name.trim().is_empty() => {
                text::clean(name.trim())
            }
            _ => self.index.display_name(owner),
        };
        let changed = row
            .opt_date("LastEditDate")?
            .unwrap_or(created)
            .max(created);
        let score = row.opt_int("Score")?.unwrap_or(0);
        let boosts = match &self.index.upvotes {
            Some(upvotes) => upvotes.get(&id).copied().unwrap_or(0),
            None => score.max(0),
        };

        let (verb, url) = match kind {
            Kind::Question => ("Asked", self.site.question_url(id)),
            Kind::Answer => ("Answered", self.site.answer_url(id)),
        };
        // Linked to their profile there, unless the account is gone (`user123`).
        let who = if self.index.users.contains_key(&owner) {
            format!(
                "[{}]({})",
                text::escape_inline(&owner_name),
                self.site.user_url(owner)
            )
        } else {
            text::escape_inline(&owner_name)
        };
        let licence = licence(changed);
        let mut footer = String::new();
        if !linked.is_empty() {
            footer.push_str(linked);
            footer.push_str("\n\n");
        }
        footer.push_str(&format!(
            "*{verb} on [{}]({url}) by {who}, {} · {licence}*",
            text::escape_inline(&self.site.name),
            day(row.date("CreationDate")?),
        ));
        let comments = self.comment_lines(id)?;

        // The author's Markdown, when the history has it; else the rendered HTML, converted.
        let history = self.body_history(id)?;
        let decorate = |core: &str| compose(top, core, &footer, &comments);
        let mut revisions = Vec::new();
        let body = match history.last() {
            Some(last) => {
                let body = decorate(&last.2);
                if history.len() > 1 {
                    let mut previous: Option<Timestamp> = None;
                    for (n, (at, user, markdown, reason)) in history.iter().enumerate() {
                        // The first is the original, made with the post; each later one after
                        // the one before (the archive's rules).
                        let at = if n == 0 {
                            created
                        } else {
                            let after = previous.map_or(created, |p| p);
                            if *at > after {
                                *at
                            } else {
                                Timestamp::from_micros(after.micros() + 1)
                            }
                        };
                        previous = Some(at);
                        revisions.push(Revision {
                            created_at: at,
                            author: self.username(*user),
                            reason: reason.clone(),
                            body: decorate(markdown),
                        });
                    }
                    self.counted_revisions += revisions.len() as u64;
                }
                body
            }
            None => decorate(&text::to_markdown(
                &self.converter,
                &text::clean(row.text("Body")?),
            )),
        };
        self.counted_comments += comments.len() as u64;
        Ok((
            Post {
                id: placeholder,
                author: self.username(owner),
                created_at: created,
                body,
                boosts: Vec::new(),
                revisions,
                deleted: None,
                hidden: None,
                reply_to: None,
                body_html: String::new(),
            },
            PostOrigin {
                source_id: id,
                boosts,
            },
        ))
    }

    /// A post's body revisions, oldest first: (when, who, Markdown, edit summary).
    #[allow(clippy::type_complexity)]
    fn body_history(
        &mut self,
        post: i64,
    ) -> Result<Vec<(Timestamp, i64, String, Option<String>)>, DumpError> {
        let Some(reader) = self.history.as_mut() else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for entry in self.index.history_of(post) {
            let row = reader.row_at(entry.offset)?;
            let markdown = text::clean(row.text("Text")?);
            if markdown.trim().is_empty() {
                continue;
            }
            let reason = row
                .get("Comment")
                .map(|c| text::cut(&text::clean(c.trim()), 300))
                .filter(|c| !c.is_empty());
            out.push((
                Timestamp::from_micros(entry.created),
                entry.user,
                markdown,
                reason,
            ));
        }
        Ok(out)
    }

    /// A post's comments as list items, oldest first.
    fn comment_lines(&mut self, post: i64) -> Result<Vec<String>, DumpError> {
        let Some(reader) = self.comments.as_mut() else {
            return Ok(Vec::new());
        };
        let mut lines = Vec::new();
        for entry in self.index.comments_of(post) {
            let row = reader.row_at(entry.offset)?;
            let said = text::comment_line(&text::clean(row.text("Text")?));
            if said.is_empty() {
                continue;
            }
            let name = match row.get("UserDisplayName") {
                Some(name) if row.opt_int("UserId")?.is_none() && !name.trim().is_empty() => {
                    name.trim().to_string()
                }
                _ => self.index.display_name(entry.user),
            };
            lines.push(format!(
                "- {said} — {}, {}",
                text::escape_inline(&text::clean(&name)),
                day(Timestamp::from_micros(entry.created))
            ));
        }
        Ok(lines)
    }

    /// A link to a question: its thread here, or the original.
    fn question_link(&mut self, id: i64) -> Result<String, DumpError> {
        let title = match self.index.question(id) {
            Some(q) => {
                let row = self.posts.row_at(q.offset)?;
                text::clean(row.get("Title").unwrap_or("").trim())
            }
            None => String::new(),
        };
        let title = if title.is_empty() {
            format!("question {id}")
        } else {
            title
        };
        let url = match self.targets.get(&id) {
            Some(thread) => crate::paths::thread_by_id(*thread),
            None => self.site.question_url(id),
        };
        Ok(format!("[{}]({url})", text::escape_inline(&title)))
    }

    /// "Duplicate of: …" lines, for the top of a question.
    fn duplicate_lines(&mut self, question: i64) -> Result<String, DumpError> {
        let originals = self.index.related_of(question, LINK_DUPLICATE);
        let mut out = Vec::new();
        for id in originals {
            out.push(format!("**Duplicate of:** {}", self.question_link(id)?));
        }
        Ok(out.join("  \n"))
    }

    /// "Linked: …", for the end of a question.
    fn linked_line(&mut self, question: i64) -> Result<String, DumpError> {
        let linked = self.index.related_of(question, LINK_LINKED);
        if linked.is_empty() {
            return Ok(String::new());
        }
        let mut links = Vec::new();
        for id in linked {
            links.push(self.question_link(id)?);
        }
        Ok(format!("**Linked:** {}", links.join(", ")))
    }
}

/// A post's Markdown: what goes above it, the text, and below a rule where it came from and
/// its comments; within the forum's limit (comments are kept to half of it, then the text is
/// cut).
fn compose(top: &str, core: &str, footer: &str, comments: &[String]) -> String {
    const HEADER: &str = "**Comments**";
    const CUT: &str = "\n\n*… cut here: the original is longer than this forum allows.*";
    let max = archive::MAX_BODY_CHARS;
    let count = |s: &str| s.chars().count();
    let core = core.trim();
    let frame = count(top) + 2 + 7 + count(footer);
    let mut kept: Vec<String> = Vec::new();
    let mut comment_chars = 0;
    if !comments.is_empty() {
        let allowed = (max / 2).min(max.saturating_sub(frame + count(core).min(max / 2) + 200));
        comment_chars = 2 + count(HEADER) + 2;
        for (n, line) in comments.iter().enumerate() {
            if comment_chars + count(line) + 1 + 40 > allowed {
                kept.push(format!("- *… {} more on the original*", comments.len() - n));
                comment_chars += 40;
                break;
            }
            comment_chars += count(line) + 1;
            kept.push(line.clone());
        }
    }
    let room = max.saturating_sub(frame + comment_chars);
    let core = if count(core) > room {
        format!("{}{CUT}", text::cut(core, room.saturating_sub(count(CUT))))
    } else if core.is_empty() {
        "*(empty)*".to_string()
    } else {
        core.to_string()
    };
    let mut out = String::with_capacity(core.len() + footer.len() + 64);
    if !top.is_empty() {
        out.push_str(top);
        out.push_str("\n\n");
    }
    out.push_str(&core);
    out.push_str("\n\n---\n\n");
    out.push_str(footer);
    if !kept.is_empty() {
        out.push_str("\n\n");
        out.push_str(HEADER);
        out.push_str("\n\n");
        out.push_str(&kept.join("\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_names_and_addresses() {
        assert_eq!(
            site_name("history.meta.stackexchange.com"),
            "History Meta Stack Exchange"
        );
        assert_eq!(site_name("stackoverflow.com"), "Stack Overflow");
        assert_eq!(site_name("example.org"), "example.org");
        let options = ImportOptions {
            site_url: Some("https://History.Meta.StackExchange.com/".into()),
            ..ImportOptions::default()
        };
        let site = Site::resolve(Path::new("."), &options).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(site.host, "history.meta.stackexchange.com");
        assert_eq!(site.url, "https://history.meta.stackexchange.com");
        assert_eq!(
            site.question_url(3),
            "https://history.meta.stackexchange.com/q/3"
        );
        let bad = ImportOptions {
            site_url: Some("not a site".into()),
            ..ImportOptions::default()
        };
        assert!(Site::resolve(Path::new("."), &bad).is_err());
    }

    #[test]
    fn licences_by_date() {
        let at = |s: &str| dump::parse_date(s).unwrap_or_else(|| panic!("{s}"));
        assert_eq!(licence(at("2010-01-01T00:00:00")), "CC BY-SA 2.5");
        assert_eq!(licence(at("2011-10-11T19:42:20.713")), "CC BY-SA 3.0");
        assert_eq!(licence(at("2019-01-01T00:00:00")), "CC BY-SA 4.0");
    }

    #[test]
    fn long_posts_fit_the_limit() {
        let core = "word ".repeat(20_000);
        let comments: Vec<String> = (0..2_000)
            .map(|i| format!("- comment {i} {}", "x".repeat(40)))
            .collect();
        let body = compose("top", &core, "*footer*", &comments);
        assert!(
            body.chars().count() <= archive::MAX_BODY_CHARS,
            "{}",
            body.chars().count()
        );
        assert!(body.contains("more on the original"));
        assert!(body.contains("cut here"));
        let few = compose("", &core, "*footer*", &comments[..3]);
        assert!(few.chars().count() <= archive::MAX_BODY_CHARS);
        assert!(few.ends_with(&comments[2]));
        let short = compose("", "text", "*footer*", &[]);
        assert_eq!(short, "text\n\n---\n\n*footer*");
    }
}
