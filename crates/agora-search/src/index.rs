//! The index on disk: its schema, its generations, writing documents and committing them
//! together with the change-log position they reflect.
//!
//! One document per visible post. The opening post's document (the "head") also carries the
//! thread's title; every document carries the thread's filters (subtopic, tags, states), so a
//! filter narrows replies as well as opening posts. The last change-log sequence number applied
//! is the commit's payload: index and position commit together, so a crash resumes exactly.
//!
//! Generations: the index lives in `<root>/<generation>/`, and `<root>/CURRENT` names the live
//! one. A full rebuild writes a new generation beside it and then replaces `CURRENT`
//! atomically; a running server notices and switches.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tantivy::directory::MmapDirectory;
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use crate::analyzer;
use crate::query::State;

/// Errors of the search index.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("search index directory: {0}")]
    Directory(#[from] tantivy::directory::error::OpenDirectoryError),
    #[error("search index files: {0}")]
    Io(#[from] std::io::Error),
    #[error("search index: {0}")]
    Other(String),
}

/// The index's field handles.
#[derive(Clone, Copy, Debug)]
pub struct Fields {
    pub post_id: Field,
    pub thread_id: Field,
    /// 1 on the opening post's document, 0 on replies.
    pub head: Field,
    /// Title (head documents only).
    pub title: Field,
    /// Title and opening post on the head, the reply's text on replies.
    pub text: Field,
    /// The thread's title, on replies (a second chance for a word; see `search`).
    pub context: Field,
    /// Every CJK character of `text`, alone.
    pub cjk1: Field,
    pub tag: Field,
    pub subtopic: Field,
    pub author: Field,
    /// Thread states (`solved`, `staff`, `locked`, and `unanswered` on heads).
    pub state: Field,
    /// Post time, microseconds since the epoch.
    pub created: Field,
    /// Thread start time, microseconds since the epoch.
    pub thread_created: Field,
    pub boosts: Field,
    /// 1 accepted answer, 2 staff-recommended, 3 both, 0 neither.
    pub answer: Field,
    /// Hash of the thread facts copied into every document of the thread.
    pub facets: Field,
    /// Hash of everything the document was built from.
    pub fingerprint: Field,
    /// The thread as a whole, on its whole document: the title, the question, its answers and
    /// best replies together (see [`whole_posts`]).
    pub whole: Field,
    /// The thread's id, on its whole document only (the term that replaces it).
    pub whole_of: Field,
    /// The opening post's id, on the whole document (its snippet's post).
    pub lead: Field,
}

/// The schema; registered analyzers are named in `analyzer`.
pub fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text_with = |tokenizer: &str, record: IndexRecordOption| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(tokenizer)
                .set_index_option(record),
        )
    };
    let id = INDEXED | FAST | STORED;
    let fields = Fields {
        post_id: b.add_u64_field("post_id", id.clone()),
        thread_id: b.add_u64_field("thread_id", id),
        head: b.add_u64_field("head", INDEXED | FAST),
        title: b.add_text_field(
            "title",
            text_with(analyzer::TEXT, IndexRecordOption::WithFreqsAndPositions),
        ),
        text: b.add_text_field(
            "text",
            text_with(analyzer::TEXT, IndexRecordOption::WithFreqsAndPositions),
        ),
        context: b.add_text_field(
            "context",
            text_with(analyzer::TEXT, IndexRecordOption::WithFreqs),
        ),
        cjk1: b.add_text_field(
            "cjk1",
            text_with(analyzer::CJK1, IndexRecordOption::WithFreqs),
        ),
        tag: b.add_text_field("tag", STRING),
        subtopic: b.add_text_field("subtopic", STRING),
        author: b.add_text_field("author", STRING),
        state: b.add_text_field("state", STRING),
        created: b.add_i64_field("created", INDEXED | FAST),
        thread_created: b.add_i64_field("thread_created", FAST),
        boosts: b.add_u64_field("boosts", FAST),
        answer: b.add_u64_field("answer", FAST),
        facets: b.add_u64_field("facets", FAST),
        fingerprint: b.add_u64_field("fingerprint", FAST | STORED),
        whole: b.add_text_field(
            "whole",
            text_with(analyzer::TEXT, IndexRecordOption::WithFreqs),
        ),
        whole_of: b.add_u64_field("whole_of", INDEXED),
        lead: b.add_u64_field("lead", FAST),
    };
    (b.build(), fields)
}

/// What the index needs of a thread.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadDoc {
    pub id: i64,
    pub title: String,
    pub subtopic: String,
    pub tags: Vec<String>,
    /// Microseconds since the epoch.
    pub created: i64,
    pub solved: bool,
    pub staff_answered: bool,
    pub locked: bool,
    pub reply_count: i64,
    pub accepted_post: Option<i64>,
    pub recommended_post: Option<i64>,
}

impl ThreadDoc {
    /// A hash of the facts copied into every document of the thread: when it changes, the
    /// whole thread is indexed again.
    pub fn facets_hash(&self) -> u64 {
        let mut h = blake3::Hasher::new();
        for part in [self.title.as_str(), "\0", self.subtopic.as_str(), "\0"] {
            h.update(part.as_bytes());
        }
        for tag in &self.tags {
            h.update(tag.as_bytes());
            h.update(b"\0");
        }
        h.update(&[
            self.solved as u8,
            self.staff_answered as u8,
            self.locked as u8,
        ]);
        h.update(&self.accepted_post.unwrap_or(0).to_le_bytes());
        h.update(&self.recommended_post.unwrap_or(0).to_le_bytes());
        h.update(&self.created.to_le_bytes());
        first_u64(h.finalize())
    }
}

/// What the index needs of a post.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostDoc {
    pub id: i64,
    /// 0 for the opening post.
    pub position: i64,
    pub author: String,
    /// Microseconds since the epoch.
    pub created: i64,
    pub boosts: i64,
    /// The post's readable text, code included.
    pub text: String,
}

fn first_u64(hash: blake3::Hash) -> u64 {
    let mut eight = [0u8; 8];
    eight.copy_from_slice(&hash.as_bytes()[..8]);
    u64::from_le_bytes(eight)
}

fn build_doc(f: &Fields, thread: &ThreadDoc, post: &PostDoc) -> TantivyDocument {
    let head = post.position == 0;
    let mut doc = TantivyDocument::default();
    doc.add_u64(f.post_id, post.id as u64);
    doc.add_u64(f.thread_id, thread.id as u64);
    doc.add_u64(f.head, head as u64);
    let text = if head {
        doc.add_text(f.title, &thread.title);
        format!("{}\n{}", thread.title, post.text)
    } else {
        doc.add_text(f.context, &thread.title);
        post.text.clone()
    };
    doc.add_text(f.cjk1, &text);
    doc.add_text(f.text, &text);
    for tag in &thread.tags {
        doc.add_text(f.tag, tag);
    }
    doc.add_text(f.subtopic, &thread.subtopic);
    doc.add_text(f.author, post.author.to_lowercase());
    let mut states = thread_states(thread);
    if head && thread.reply_count == 0 {
        states.push(State::Unanswered);
    }
    for s in &states {
        doc.add_text(f.state, s.keyword());
    }
    doc.add_i64(f.created, post.created);
    doc.add_i64(f.thread_created, thread.created);
    doc.add_u64(f.boosts, post.boosts.max(0) as u64);
    let answer = u64::from(thread.accepted_post == Some(post.id))
        | (u64::from(thread.recommended_post == Some(post.id)) << 1);
    doc.add_u64(f.answer, answer);
    let facets = thread.facets_hash();
    doc.add_u64(f.facets, facets);
    let mut h = blake3::Hasher::new();
    h.update(&facets.to_le_bytes());
    h.update(&post.id.to_le_bytes());
    h.update(&post.position.to_le_bytes());
    h.update(&post.created.to_le_bytes());
    h.update(&post.boosts.to_le_bytes());
    h.update(&u64::from(head && thread.reply_count == 0).to_le_bytes());
    h.update(post.author.as_bytes());
    h.update(b"\0");
    h.update(post.text.as_bytes());
    doc.add_u64(f.fingerprint, first_u64(h.finalize()));
    doc
}

/// The replies a thread's whole document holds beside its question and answers: the most
/// boosted, the earliest first among equals.
pub const WHOLE_REPLIES: usize = 5;

/// The most text a whole document holds (characters); a very long question stops there.
const WHOLE_MAX_CHARS: usize = 30_000;

/// The head document's mark in `head`: 1 the opening post, 0 a reply, 2 the thread as a whole.
pub const WHOLE: u64 = 2;

/// The posts a thread's whole document is made of, in order: the opening post, the accepted
/// and the staff-recommended answers, then the [`WHOLE_REPLIES`] most boosted other replies.
/// `posts` may be all the thread's visible posts or any superset of these.
pub fn whole_posts<'a>(thread: &ThreadDoc, posts: &'a [PostDoc]) -> Vec<&'a PostDoc> {
    let answer =
        |p: &PostDoc| thread.accepted_post == Some(p.id) || thread.recommended_post == Some(p.id);
    let mut out: Vec<&PostDoc> = posts.iter().filter(|p| p.position == 0).take(1).collect();
    out.extend(posts.iter().filter(|p| p.position != 0 && answer(p)));
    let mut rest: Vec<&PostDoc> = posts
        .iter()
        .filter(|p| p.position != 0 && !answer(p))
        .collect();
    rest.sort_by(|x, y| y.boosts.cmp(&x.boosts).then(x.position.cmp(&y.position)));
    out.extend(rest.into_iter().take(WHOLE_REPLIES));
    out
}

/// The thread's whole document (`None` without an opening post: nothing to represent).
fn build_whole(f: &Fields, thread: &ThreadDoc, posts: &[PostDoc]) -> Option<TantivyDocument> {
    let chosen = whole_posts(thread, posts);
    let head = chosen.first().filter(|p| p.position == 0)?;
    let mut text = thread.title.clone();
    for post in &chosen {
        if text.len() >= WHOLE_MAX_CHARS {
            break;
        }
        text.push('\n');
        text.push_str(&post.text);
    }
    if text.len() > WHOLE_MAX_CHARS {
        let mut end = WHOLE_MAX_CHARS;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    let mut doc = TantivyDocument::default();
    doc.add_u64(f.post_id, 0);
    doc.add_u64(f.thread_id, thread.id as u64);
    doc.add_u64(f.whole_of, thread.id as u64);
    doc.add_u64(f.head, WHOLE);
    doc.add_u64(f.lead, head.id as u64);
    doc.add_text(f.whole, &text);
    for tag in &thread.tags {
        doc.add_text(f.tag, tag);
    }
    doc.add_text(f.subtopic, &thread.subtopic);
    let mut states = thread_states(thread);
    if thread.reply_count == 0 {
        states.push(State::Unanswered);
    }
    for s in states {
        doc.add_text(f.state, s.keyword());
    }
    doc.add_i64(f.thread_created, thread.created);
    let mut h = blake3::Hasher::new();
    h.update(&thread.facets_hash().to_le_bytes());
    h.update(text.as_bytes());
    doc.add_u64(f.fingerprint, first_u64(h.finalize()));
    Some(doc)
}

/// The states every document of a thread carries (`unanswered` is added to heads apart).
fn thread_states(thread: &ThreadDoc) -> Vec<State> {
    let mut states = Vec::new();
    if thread.solved {
        states.push(State::Solved);
    }
    if thread.staff_answered {
        states.push(State::Staff);
    }
    if thread.locked {
        states.push(State::Locked);
    }
    states
}

/// The version of what the index holds per document (the analyzer's terms, the fields): an
/// index whose mark names another is rebuilt. 2: hyphenated words also joined (`wifi`).
/// 3: the words of link addresses indexed with a post's text. 4: dotted initialisms also
/// joined (`B.C.` → `bc`); link words without hosts and ids. 5: a whole document per thread.
pub const FORMAT: u32 = 5;

/// Where in which database's history an index stands: the last change applied, when that
/// change was written, and the identity of the database it came from. A follower compares all
/// three with the database before going on, so a restored backup or a database that lost its
/// last writes (whose sequence numbers are then used again) is noticed instead of skipped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mark {
    pub position: i64,
    /// The change's `at` (microseconds), `None` for position 0 or an index from before marks.
    pub at: Option<i64>,
    /// The database's identity, `None` for an index from before marks.
    pub database: Option<String>,
    /// The [`FORMAT`] the index was built with (1 for indexes from before formats).
    pub format: u32,
}

impl Mark {
    fn payload(&self) -> String {
        format!(
            "v3 {} {} {} {}",
            self.format,
            self.position,
            self.at.map_or_else(|| "-".to_string(), |a| a.to_string()),
            self.database.as_deref().unwrap_or("-")
        )
    }

    fn parse(payload: &str) -> Option<Mark> {
        let mut parts = payload.split(' ');
        match (
            parts.next()?,
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) {
            ("v3", Some(format), Some(position), Some(at), Some(database)) => Some(Mark {
                position: position.parse().ok()?,
                at: at.parse().ok(),
                database: Some(database.to_string()).filter(|d| d != "-"),
                format: format.parse().ok()?,
            }),
            ("v2", Some(position), Some(at), Some(database), None) => Some(Mark {
                position: position.parse().ok()?,
                at: at.parse().ok(),
                database: Some(database.to_string()).filter(|d| d != "-"),
                format: 1,
            }),
            // The first format: the position alone.
            (position, None, None, None, None) => Some(Mark {
                position: position.parse().ok()?,
                at: None,
                database: None,
                format: 1,
            }),
            _ => None,
        }
    }
}

/// An open index generation: a reader for searches and a writer for the indexer.
pub struct SearchIndex {
    pub(crate) index: Index,
    pub(crate) reader: IndexReader,
    pub(crate) fields: Fields,
    /// Abbreviations the forum's own posts define ("Mobile Device Management (MDM)"):
    /// abbreviation → expansion, kept beside the index (`abbreviations.tsv`) at each commit.
    pub(crate) learned: std::sync::RwLock<std::collections::BTreeMap<String, String>>,
    learned_changed: std::sync::atomic::AtomicBool,
    dir: PathBuf,
    writer: Mutex<Option<IndexWriter>>,
    generation: String,
    threads: usize,
    memory: usize,
}

/// The position and size of an index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexStatus {
    pub generation: String,
    /// Last change-log sequence number applied, `None` if never built.
    pub position: Option<i64>,
    pub documents: u64,
    pub segments: usize,
    pub bytes: u64,
}

const CURRENT: &str = "CURRENT";
/// The abbreviations learnt from posts, beside the index files.
const LEARNED: &str = "abbreviations.tsv";
/// The most abbreviations kept (a forum defines a few hundred at most).
const MAX_LEARNED: usize = 5_000;

/// Reads which generation `root` serves, if any.
pub fn current_generation(root: &Path) -> Result<Option<String>, SearchError> {
    match std::fs::read_to_string(root.join(CURRENT)) {
        Ok(name) => Ok(Some(name.trim().to_string()).filter(|n| !n.is_empty())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn new_generation_name() -> String {
    format!(
        "gen-{}-{:08x}",
        chrono::Utc::now().format("%Y%m%dT%H%M%S%6f"),
        std::process::id()
    )
}

fn dir_size(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

impl SearchIndex {
    /// Opens the generation `root/CURRENT` names, creating an empty one (and `CURRENT`) if
    /// there is none. Old generations other than the live one are removed.
    pub fn open(root: &Path, threads: usize, memory: usize) -> Result<SearchIndex, SearchError> {
        std::fs::create_dir_all(root)?;
        let generation = match current_generation(root)? {
            Some(name) if root.join(&name).is_dir() => name,
            _ => {
                let name = new_generation_name();
                std::fs::create_dir_all(root.join(&name))?;
                publish(root, &name)?;
                name
            }
        };
        let index = match SearchIndex::open_dir(root, &generation, threads, memory) {
            // Written by a version with other fields: it cannot be read, so an empty
            // generation takes its place and the indexer builds it (as for any older format).
            Err(SearchError::Tantivy(tantivy::TantivyError::SchemaError(why))) => {
                tracing::warn!(
                    generation,
                    why,
                    "the search index has another schema; starting a new one"
                );
                let name = new_generation_name();
                std::fs::create_dir_all(root.join(&name))?;
                publish(root, &name)?;
                SearchIndex::open_dir(root, &name, threads, memory)?
            }
            other => other?,
        };
        remove_old_generations(root, index.generation());
        Ok(index)
    }

    /// Creates a new, empty generation beside the live one, not yet published.
    pub fn create_generation(
        root: &Path,
        threads: usize,
        memory: usize,
    ) -> Result<SearchIndex, SearchError> {
        let name = format!("building-{}", new_generation_name());
        std::fs::create_dir_all(root.join(&name))?;
        SearchIndex::open_dir(root, &name, threads, memory)
    }

    /// Drops an unpublished generation (a build that failed) with its files.
    pub fn discard(self, root: &Path) {
        let dir = root.join(&self.generation);
        drop(self);
        if let Err(e) = std::fs::remove_dir_all(&dir) {
            tracing::warn!(path = %dir.display(), error = %e, "could not remove a failed search index build");
        }
    }

    /// Makes this generation (from [`SearchIndex::create_generation`]) the live one.
    pub fn publish(self, root: &Path) -> Result<String, SearchError> {
        drop(self.writer);
        let name = self.generation.trim_start_matches("building-").to_string();
        std::fs::rename(root.join(&self.generation), root.join(&name))?;
        publish(root, &name)?;
        Ok(name)
    }

    fn open_dir(
        root: &Path,
        generation: &str,
        threads: usize,
        memory: usize,
    ) -> Result<SearchIndex, SearchError> {
        let (schema, fields) = schema();
        let dir = MmapDirectory::open(root.join(generation))?;
        let index = Index::open_or_create(dir, schema)?;
        index
            .tokenizers()
            .register(analyzer::TEXT, analyzer::text_analyzer());
        index
            .tokenizers()
            .register(analyzer::CJK1, analyzer::cjk1_analyzer());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let learned = std::fs::read_to_string(root.join(generation).join(LEARNED))
            .unwrap_or_default()
            .lines()
            .filter_map(|line| line.split_once('\t'))
            .map(|(short, long)| (short.to_string(), long.to_string()))
            .collect();
        Ok(SearchIndex {
            index,
            reader,
            fields,
            learned: std::sync::RwLock::new(learned),
            learned_changed: std::sync::atomic::AtomicBool::new(false),
            dir: root.join(generation),
            writer: Mutex::new(None),
            generation: generation.to_string(),
            threads,
            memory,
        })
    }

    /// The generation's folder name.
    pub fn generation(&self) -> &str {
        &self.generation
    }

    /// The field handles.
    pub fn fields(&self) -> Fields {
        self.fields
    }

    /// The last change-log position committed, `None` if this generation was never built.
    pub fn position(&self) -> Result<Option<i64>, SearchError> {
        Ok(self.mark()?.map(|m| m.position))
    }

    /// Where in which database's history the last commit stands, `None` if never built.
    pub fn mark(&self) -> Result<Option<Mark>, SearchError> {
        Ok(self
            .index
            .load_metas()?
            .payload
            .as_deref()
            .and_then(Mark::parse))
    }

    /// Documents, segments, size and position.
    pub fn status(&self, root: &Path) -> Result<IndexStatus, SearchError> {
        let searcher = self.reader.searcher();
        Ok(IndexStatus {
            generation: self.generation.clone(),
            position: self.position()?,
            documents: searcher.num_docs(),
            segments: searcher.segment_readers().len(),
            bytes: dir_size(&root.join(&self.generation)),
        })
    }

    fn with_writer<T>(
        &self,
        work: impl FnOnce(&mut IndexWriter) -> Result<T, SearchError>,
    ) -> Result<T, SearchError> {
        // A panic while writing poisons the lock: the writer it guarded is suspect, so it is
        // dropped and a new one opened.
        let mut guard = match self.writer.lock() {
            Ok(guard) => guard,
            Err(poisoned) => {
                let mut guard = poisoned.into_inner();
                *guard = None;
                self.writer.clear_poison();
                guard
            }
        };
        if guard.is_none() {
            *guard = Some(
                self.index
                    .writer_with_num_threads(self.threads.max(1), self.memory)?,
            );
        }
        match guard.as_mut() {
            Some(writer) => work(writer),
            None => Err(SearchError::Other("no writer".into())),
        }
    }

    /// Replaces every document of a thread with `posts` (all its visible posts).
    pub fn replace_thread(&self, thread: &ThreadDoc, posts: &[PostDoc]) -> Result<(), SearchError> {
        let f = self.fields;
        for post in posts {
            self.learn(&post.text);
        }
        self.with_writer(|w| {
            w.delete_term(Term::from_field_u64(f.thread_id, thread.id as u64));
            for post in posts {
                w.add_document(build_doc(&f, thread, post))?;
            }
            if let Some(whole) = build_whole(&f, thread, posts) {
                w.add_document(whole)?;
            }
            Ok(())
        })
    }

    /// Replaces a thread's whole document, made of `posts` (at least its [`whole_posts`]).
    pub fn replace_whole(&self, thread: &ThreadDoc, posts: &[PostDoc]) -> Result<(), SearchError> {
        let f = self.fields;
        self.with_writer(|w| {
            w.delete_term(Term::from_field_u64(f.whole_of, thread.id as u64));
            if let Some(whole) = build_whole(&f, thread, posts) {
                w.add_document(whole)?;
            }
            Ok(())
        })
    }

    /// Replaces one post's document.
    pub fn replace_post(&self, thread: &ThreadDoc, post: &PostDoc) -> Result<(), SearchError> {
        let f = self.fields;
        self.learn(&post.text);
        self.with_writer(|w| {
            w.delete_term(Term::from_field_u64(f.post_id, post.id as u64));
            w.add_document(build_doc(&f, thread, post))?;
            Ok(())
        })
    }

    /// Removes a thread's documents.
    pub fn remove_thread(&self, thread: i64) -> Result<(), SearchError> {
        let f = self.fields;
        self.with_writer(|w| {
            w.delete_term(Term::from_field_u64(f.thread_id, thread as u64));
            Ok(())
        })
    }

    /// Removes a post's document.
    pub fn remove_post(&self, post: i64) -> Result<(), SearchError> {
        let f = self.fields;
        self.with_writer(|w| {
            w.delete_term(Term::from_field_u64(f.post_id, post as u64));
            Ok(())
        })
    }

    /// Commits what was written, recording `mark` as the last change applied, and makes it
    /// visible to searches.
    pub fn commit(&self, mark: &Mark) -> Result<(), SearchError> {
        self.with_writer(|w| {
            let mut prepared = w.prepare_commit()?;
            prepared.set_payload(&mark.payload());
            prepared.commit()?;
            Ok(())
        })?;
        self.reader.reload()?;
        if self
            .learned_changed
            .swap(false, std::sync::atomic::Ordering::AcqRel)
        {
            let text: String = match self.learned.read() {
                Ok(learned) => learned
                    .iter()
                    .map(|(short, long)| format!("{short}\t{long}\n"))
                    .collect(),
                Err(_) => String::new(),
            };
            // Written whole, then renamed: a crash leaves the old list or the new one.
            let tmp = self.dir.join(format!("{LEARNED}.tmp"));
            std::fs::write(&tmp, text)?;
            std::fs::rename(&tmp, self.dir.join(LEARNED))?;
        }
        Ok(())
    }

    /// Remembers the abbreviations `text` defines (the first definition of each wins).
    fn learn(&self, text: &str) {
        if !text.contains('(') {
            return;
        }
        let found = crate::words::abbreviations_in(text);
        if found.is_empty() {
            return;
        }
        if let Ok(mut learned) = self.learned.write() {
            for (short, long) in found {
                if learned.len() < MAX_LEARNED && !learned.contains_key(&short) {
                    learned.insert(short, long);
                    self.learned_changed
                        .store(true, std::sync::atomic::Ordering::Release);
                }
            }
        }
    }

    /// The expansion the forum's posts give an abbreviation, if any.
    pub fn learned_expansion(&self, short: &str) -> Option<String> {
        self.learned.read().ok()?.get(short).cloned()
    }

    /// Takes the writer out, if one was opened (it is opened again when next needed).
    fn take_writer(&self) -> Result<Option<IndexWriter>, SearchError> {
        let mut guard = self
            .writer
            .lock()
            .map_err(|_| SearchError::Other("writer lock poisoned".into()))?;
        Ok(guard.take())
    }

    /// Drops what was written since the last commit (what a crash would lose).
    pub fn abandon(&self) -> Result<(), SearchError> {
        if let Some(mut writer) = self.take_writer()? {
            writer.rollback()?;
        }
        Ok(())
    }

    /// Throws the writer away after a failure (a full disk, an I/O error, a panic in an
    /// indexing thread kill it for good): what it held uncommitted is lost, and the next write
    /// opens a new one, so the indexer heals once the cause is gone. The reader is reloaded
    /// from the last commit.
    pub fn discard_writer(&self) {
        match self.writer.lock() {
            Ok(mut guard) => drop(guard.take()),
            Err(poisoned) => drop(poisoned.into_inner().take()),
        }
        let _ = self.reader.reload();
    }

    /// Waits for background merges and releases the writer (and its memory).
    pub fn finish(&self) -> Result<(), SearchError> {
        if let Some(writer) = self.take_writer()? {
            writer.wait_merging_threads()?;
        }
        Ok(())
    }

    /// The facets hash the index holds for a thread's head document, if it has one.
    pub fn indexed_facets(&self, thread: i64) -> Result<Option<u64>, SearchError> {
        use tantivy::DocSet;
        let searcher = self.reader.searcher();
        let term = Term::from_field_u64(self.fields.thread_id, thread as u64);
        for segment in searcher.segment_readers() {
            let inverted = segment.inverted_index(self.fields.thread_id)?;
            let Some(mut postings) = inverted.read_postings(&term, IndexRecordOption::Basic)?
            else {
                continue;
            };
            let heads = segment.fast_fields().u64("head")?;
            let facets = segment.fast_fields().u64("facets")?;
            let alive = segment.alive_bitset();
            let mut doc = postings.doc();
            while doc != tantivy::TERMINATED {
                let is_alive = alive.is_none_or(|a| a.is_alive(doc));
                if is_alive && heads.first(doc) == Some(1) {
                    return Ok(facets.first(doc));
                }
                doc = postings.advance();
            }
        }
        Ok(None)
    }

    /// Every live document as (post id, fingerprint), sorted: two indexes hold the same
    /// documents when these are equal.
    pub fn fingerprints(&self) -> Result<Vec<(u64, u64)>, SearchError> {
        let searcher = self.reader.searcher();
        let mut out = Vec::new();
        for segment in searcher.segment_readers() {
            let ids = segment.fast_fields().u64("post_id")?;
            let prints = segment.fast_fields().u64("fingerprint")?;
            for doc in 0..segment.max_doc() {
                if segment.alive_bitset().is_none_or(|a| a.is_alive(doc)) {
                    out.push((ids.first(doc).unwrap_or(0), prints.first(doc).unwrap_or(0)));
                }
            }
        }
        out.sort_unstable();
        Ok(out)
    }
}

fn publish(root: &Path, generation: &str) -> Result<(), SearchError> {
    let tmp = root.join(format!("{CURRENT}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, generation)?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, root.join(CURRENT))?;
    if let Ok(dir) = std::fs::File::open(root) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// Removes published generations other than `keep` (never one still being built).
pub fn remove_old_generations(root: &Path, keep: &str) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with("gen-") && name != keep {
            let path: PathBuf = entry.path();
            if let Err(e) = std::fs::remove_dir_all(&path) {
                tracing::warn!(path = %path.display(), error = %e, "could not remove an old search index");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_read_back_with_their_format_and_older_ones_as_format_one() {
        let mark = Mark {
            position: 42,
            at: Some(7),
            database: Some("db1".into()),
            format: FORMAT,
        };
        assert_eq!(Mark::parse(&mark.payload()), Some(mark));
        // Written before formats: format 1, which this version rebuilds.
        let old = Mark::parse("v2 42 7 db1").unwrap_or_else(|| panic!("v2 mark"));
        assert_eq!((old.position, old.format), (42, 1));
        assert_eq!(Mark::parse("42").map(|m| m.format), Some(1));
        assert_ne!(FORMAT, 1);
    }

    /// A thread with nothing set.
    fn thread_doc() -> ThreadDoc {
        ThreadDoc {
            id: 1,
            title: "t".into(),
            subtopic: "a/b".into(),
            tags: Vec::new(),
            created: 1,
            solved: false,
            staff_answered: false,
            locked: false,
            reply_count: 0,
            accepted_post: None,
            recommended_post: None,
        }
    }

    #[test]
    fn a_whole_document_holds_the_question_its_answers_and_the_best_replies() {
        let thread = ThreadDoc {
            solved: true,
            reply_count: 9,
            accepted_post: Some(109),
            ..thread_doc()
        };
        let post = |position: i64, boosts: i64| PostDoc {
            id: 100 + position,
            position,
            author: "a".into(),
            created: position,
            boosts,
            text: format!("post {position}"),
        };
        // Replies 1..=9: the accepted one (9) has no boosts; 2 and 5 tie.
        let boosts = [0, 1, 3, 0, 2, 3, 0, 5, 0, 0];
        let posts: Vec<PostDoc> = (0..10).map(|i| post(i, boosts[i as usize])).collect();
        let chosen: Vec<i64> = whole_posts(&thread, &posts)
            .iter()
            .map(|p| p.position)
            .collect();
        // Question, accepted answer, then the five most boosted (earlier first among equals).
        assert_eq!(chosen, vec![0, 9, 7, 2, 5, 4, 1]);
        // Without the opening post (hidden) there is no whole document.
        let f = schema().1;
        assert!(build_whole(&f, &thread, &posts[1..]).is_none());
        assert!(build_whole(&f, &thread, &posts).is_some());
    }

    #[test]
    fn an_index_with_other_fields_is_replaced_by_an_empty_one() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        // What an older version left: a published generation with another schema.
        let old = "gen-old";
        std::fs::create_dir_all(dir.path().join(old)).unwrap_or_else(|e| panic!("{e}"));
        let mut b = Schema::builder();
        b.add_u64_field("post_id", INDEXED);
        let mmap = MmapDirectory::open(dir.path().join(old)).unwrap_or_else(|e| panic!("{e}"));
        Index::create(mmap, b.build(), tantivy::IndexSettings::default())
            .unwrap_or_else(|e| panic!("{e}"));
        publish(dir.path(), old).unwrap_or_else(|e| panic!("{e}"));
        let index = SearchIndex::open(dir.path(), 1, 16 << 20).unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(index.generation(), old);
        assert_eq!(index.position().unwrap_or_else(|e| panic!("{e}")), None);
        assert!(
            !dir.path().join(old).exists(),
            "the unreadable generation is removed"
        );
    }

    #[test]
    fn learnt_abbreviations_outlive_a_restart() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let thread = thread_doc();
        let post = PostDoc {
            id: 1,
            position: 0,
            author: "a".into(),
            created: 1,
            boosts: 0,
            text: "The Frobbing Widget Daemon (FWD) restarts.".into(),
        };
        {
            let index =
                SearchIndex::open(dir.path(), 1, 16 << 20).unwrap_or_else(|e| panic!("{e}"));
            index
                .replace_thread(&thread, &[post])
                .unwrap_or_else(|e| panic!("{e}"));
            let mark = Mark {
                position: 1,
                at: None,
                database: None,
                format: FORMAT,
            };
            index.commit(&mark).unwrap_or_else(|e| panic!("{e}"));
        }
        let index = SearchIndex::open(dir.path(), 1, 16 << 20).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            index.learned_expansion("fwd").as_deref(),
            Some("frobbing widget daemon")
        );
    }
}
