//! Search as derived data: the indexer that follows the change log into this node's tantivy
//! index, the full rebuild, and searches with their results made safe to show.
//!
//! The index is only ever a hint. Results are read back from the database before they are
//! shown: a thread removed since it was indexed is left out, and a snippet is cut from the
//! post's current text, only if the post is still visible. So a lagging index can miss a new
//! post for a moment, but can never show a hidden or deleted one.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use agora_search::{Found, Hit, Mark, PostDoc, Query, SearchIndex, ThreadDoc};
use agora_store::{
    ChangeKind, ChangeRow, IndexPostRow, IndexThreadRow, PostId, Store, ThreadId, ThreadSummary,
};
use indicatif::ProgressBar;

use crate::config::SearchConfig;

mod related;
pub use related::Sweep;

/// Changes read from the log per batch.
const BATCH: usize = 2_000;
/// How much a solved thread's similarity counts over an unsolved one's (staff-answered: half
/// that): a tie-breaker, never a sort key ahead of a better match.
const SOLVED_BOOST: f32 = 0.1;

/// Threads read per chunk in a full rebuild.
const REBUILD_CHUNK: usize = 500;

/// This node's search index and its indexer.
pub struct Search {
    root: PathBuf,
    config: SearchConfig,
    live: RwLock<Arc<SearchIndex>>,
    /// Last change-log position committed to the index (-1 before the first build).
    position: AtomicI64,
    /// The store's change counter when the indexer last caught up.
    seen_changes: AtomicU64,
    /// One catch-up at a time.
    running: tokio::sync::Mutex<()>,
    /// Related threads by thread, with when they were found: a thread page asks on every
    /// render, and the answer changes slowly.
    related: quick_cache::sync::Cache<ThreadId, (Instant, Vec<Hit>)>,
    /// Related threads found while rendering, to be kept in the database by
    /// [`Search::keep_related`] (renders never write).
    related_found: Mutex<Vec<(ThreadId, agora_store::RelatedList)>>,
    /// Why the indexer cannot write right now (a full disk, an I/O error), until it can.
    failure: Mutex<Option<String>>,
    /// Posts the indexer could not take (a panic while reading or analysing one), by id, with
    /// why: skipped so that indexing goes on, and reported by `/healthz`.
    skipped: Mutex<BTreeMap<i64, String>>,
    /// False until the index was checked against the database's history (and while it is
    /// rebuilt after a mismatch): searches then answer nothing rather than what another
    /// history held.
    trusted: AtomicBool,
}

/// How many skipped posts `/healthz` names (the count is always whole).
const SKIPPED_SHOWN: usize = 20;

/// Whether an index may go on following the database's change log.
enum History {
    /// Never built.
    Unbuilt,
    /// The index applied changes of this database, up to a change the log still holds.
    Same,
    /// The index followed another history: rebuild it.
    Diverged(String),
}

/// Where the index stands, for `/healthz` and `agora search status`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SearchStatus {
    pub generation: String,
    pub documents: u64,
    pub segments: usize,
    pub bytes: u64,
    /// Last change applied; `null` before the first build.
    pub position: Option<i64>,
    pub change_head: i64,
    /// Changes written but not yet searchable.
    pub lag: i64,
}

/// One search result, read back from the database.
pub struct Match {
    pub thread: ThreadSummary,
    /// The matched post's passage, HTML-escaped, matched words in `<mark>`.
    pub snippet_html: String,
    pub post: PostId,
    /// The matched post's place in its thread (0 when unknown).
    pub position: i64,
}

/// A page of search results.
pub struct Results {
    pub items: Vec<Match>,
    pub more: bool,
    pub found: Found,
}

fn thread_doc(t: &IndexThreadRow) -> ThreadDoc {
    ThreadDoc {
        id: t.id.0,
        title: t.title.clone(),
        subtopic: t.subtopic.clone(),
        tags: t.tags.clone(),
        created: t.created_at.micros(),
        solved: t.accepted_post.is_some(),
        staff_answered: t.staff_answered,
        locked: t.locked,
        reply_count: t.reply_count,
        accepted_post: t.accepted_post.map(|p| p.0),
        recommended_post: t.recommended_post.map(|p| p.0),
    }
}

/// A post's document, or why it cannot be made: reading its text is guarded, so one post
/// that trips a bug is skipped instead of stopping the indexer for every later post.
fn post_doc(p: &IndexPostRow) -> Result<PostDoc, String> {
    // The readable text, then the words of its link addresses (searchable, never shown).
    let text = std::panic::catch_unwind(|| {
        let links = agora_markup::link_words(&p.body_html);
        let text = agora_markup::html_text(&p.body_html);
        if links.is_empty() {
            text
        } else {
            format!("{text}\n{links}")
        }
    })
    .map_err(|panic| agora_search::analyzer::panic_message(panic.as_ref()))?;
    Ok(PostDoc {
        id: p.id.0,
        position: p.position,
        author: p.author.clone(),
        created: p.created_at.micros(),
        boosts: p.boosts,
        text,
    })
}

/// The documents of `rows` that could be made, and the posts that could not, with why.
fn post_docs(rows: &[IndexPostRow]) -> (Vec<PostDoc>, Vec<(i64, String)>) {
    let mut docs = Vec::with_capacity(rows.len());
    let mut skipped = Vec::new();
    for row in rows {
        match post_doc(row) {
            Ok(doc) => docs.push(doc),
            Err(why) => skipped.push((row.id.0, why)),
        }
    }
    (docs, skipped)
}

/// What one batch of changes asks of the index.
#[derive(Default)]
struct Plan {
    /// Threads to index again whole (or remove).
    threads: HashSet<ThreadId>,
    /// Single posts to index again (or remove), with the head of their thread.
    posts: HashSet<PostId>,
    post_threads: HashSet<ThreadId>,
}

impl Plan {
    fn of(changes: &[ChangeRow]) -> Plan {
        let mut plan = Plan::default();
        for c in changes {
            match (&c.kind, c.thread, c.post) {
                // Not in the index: accounts, flags, pins, and whole-forum recounts (they
                // change no text, title, tag or state a search sees).
                (
                    ChangeKind::UserCreated
                    | ChangeKind::UserPasswordChanged
                    | ChangeKind::UserProfileUpdated
                    | ChangeKind::UserRoleChanged
                    | ChangeKind::UserSuspensionChanged
                    | ChangeKind::FlagRaised
                    | ChangeKind::FlagResolved
                    | ChangeKind::ThreadPinned
                    | ChangeKind::ForumRecounted
                    | ChangeKind::SettingsChanged
                    | ChangeKind::TaxonomyChanged
                    | ChangeKind::UserRemoved,
                    _,
                    _,
                ) => {}
                (
                    ChangeKind::PostCreated
                    | ChangeKind::PostEdited
                    | ChangeKind::PostDeleted
                    | ChangeKind::PostHidden
                    | ChangeKind::PostShown
                    | ChangeKind::PostBoosted,
                    Some(thread),
                    Some(post),
                ) => {
                    plan.posts.insert(post);
                    plan.post_threads.insert(thread);
                }
                // Every other change to a thread (new, imported, answered, locked, moved,
                // retitled) indexes it again whole; so does a kind this build does not know
                // (a newer node wrote it): the safe reading is "this thread changed somehow".
                (
                    ChangeKind::ThreadCreated
                    | ChangeKind::ThreadImported
                    | ChangeKind::ThreadLockChanged
                    | ChangeKind::ThreadLocked
                    | ChangeKind::ThreadUnlocked
                    | ChangeKind::ThreadMoved
                    | ChangeKind::ThreadRetitled
                    | ChangeKind::AnswerMarked
                    | ChangeKind::PostCreated
                    | ChangeKind::PostEdited
                    | ChangeKind::PostDeleted
                    | ChangeKind::PostHidden
                    | ChangeKind::PostShown
                    | ChangeKind::PostBoosted
                    | ChangeKind::ThreadRewritten
                    | ChangeKind::Unknown(_),
                    Some(thread),
                    _,
                ) => {
                    plan.threads.insert(thread);
                }
                (_, None, _) => {}
            }
        }
        plan
    }
}

/// Documents ready to write.
#[derive(Clone)]
enum Write {
    Thread(ThreadDoc, Vec<PostDoc>),
    RemoveThread(i64),
    Post(ThreadDoc, PostDoc),
    RemovePost(i64),
    /// A thread's whole document, from (at least) the posts it is made of.
    Whole(ThreadDoc, Vec<PostDoc>),
}

fn apply(index: &SearchIndex, writes: &[Write], mark: &Mark) -> anyhow::Result<()> {
    for w in writes {
        match w {
            Write::Thread(thread, posts) => index.replace_thread(thread, posts)?,
            Write::RemoveThread(id) => index.remove_thread(*id)?,
            Write::Post(thread, post) => index.replace_post(thread, post)?,
            Write::RemovePost(id) => index.remove_post(*id)?,
            Write::Whole(thread, posts) => index.replace_whole(thread, posts)?,
        }
    }
    index.commit(mark)?;
    Ok(())
}

/// Applies `writes` on the blocking pool, turning a panic into an error.
async fn apply_blocking(
    index: &Arc<SearchIndex>,
    writes: Arc<Vec<Write>>,
    mark: Mark,
) -> anyhow::Result<()> {
    let index = index.clone();
    match tokio::task::spawn_blocking(move || apply(&index, &writes, &mark)).await {
        Ok(result) => result,
        Err(join) if join.is_panic() => Err(anyhow::anyhow!(
            "indexing panicked: {}",
            agora_search::analyzer::panic_message(join.into_panic().as_ref())
        )),
        Err(join) => Err(join.into()),
    }
}

/// `writes` without the posts the analyzers cannot take, and those posts with why.
fn checked_writes(writes: Vec<Write>) -> (Vec<Write>, Vec<(i64, String)>) {
    let mut skipped = Vec::new();
    let mut ok = |post: &PostDoc| match agora_search::analyzer::check_text(&post.text) {
        Ok(()) => true,
        Err(why) => {
            skipped.push((post.id, why));
            false
        }
    };
    let mut out = Vec::with_capacity(writes.len());
    for w in writes {
        match w {
            Write::Thread(thread, posts) => {
                let posts = posts.into_iter().filter(|p| ok(p)).collect();
                out.push(Write::Thread(thread, posts));
            }
            Write::Whole(thread, posts) => {
                let posts = posts.into_iter().filter(|p| ok(p)).collect();
                out.push(Write::Whole(thread, posts));
            }
            Write::Post(thread, post) => {
                if ok(&post) {
                    out.push(Write::Post(thread, post));
                } else {
                    out.push(Write::RemovePost(post.id));
                }
            }
            other => out.push(other),
        }
    }
    (out, skipped)
}

impl Search {
    /// Opens (or creates) the index under `<data_dir>/search`.
    pub fn open(data_dir: &Path, config: &SearchConfig) -> anyhow::Result<Search> {
        let root = data_dir.join("search");
        let index = SearchIndex::open(&root, 1, config.writer_memory_mb.max(16) << 20)?;
        let position = index.position()?.unwrap_or(-1);
        Ok(Search {
            root,
            config: config.clone(),
            live: RwLock::new(Arc::new(index)),
            position: AtomicI64::new(position),
            seen_changes: AtomicU64::new(u64::MAX),
            running: tokio::sync::Mutex::new(()),
            related: quick_cache::sync::Cache::new(10_000),
            related_found: Mutex::new(Vec::new()),
            failure: Mutex::new(None),
            skipped: Mutex::new(BTreeMap::new()),
            trusted: AtomicBool::new(false),
        })
    }

    /// The live index.
    pub fn index(&self) -> Arc<SearchIndex> {
        match self.live.read() {
            Ok(live) => live.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Where the index stands against the database.
    pub async fn status(&self, store: &Store) -> anyhow::Result<SearchStatus> {
        let head = store.change_head().await?;
        let s = self.index().status(&self.root)?;
        Ok(SearchStatus {
            generation: s.generation,
            documents: s.documents,
            segments: s.segments,
            bytes: s.bytes,
            lag: head - s.position.unwrap_or(0),
            position: s.position,
            change_head: head,
        })
    }

    /// Changes written but not yet applied, as this node last saw them (no query).
    pub fn position(&self) -> i64 {
        self.position.load(Ordering::Acquire)
    }

    /// Switches to the generation `CURRENT` names if a rebuild published a new one.
    fn follow_generation(&self) -> anyhow::Result<()> {
        let current = agora_search::current_generation(&self.root)?;
        let live = self.index();
        if current.as_deref().is_some_and(|c| c != live.generation()) {
            let fresh =
                SearchIndex::open(&self.root, 1, self.config.writer_memory_mb.max(16) << 20)?;
            tracing::info!(
                generation = fresh.generation(),
                "search index: switched to a rebuilt generation"
            );
            self.position
                .store(fresh.position()?.unwrap_or(-1), Ordering::Release);
            if let Ok(mut slot) = self.live.write() {
                *slot = Arc::new(fresh);
            }
        }
        Ok(())
    }

    /// Compares the index's mark with the database: the same database (by identity), and a
    /// change the log still holds, written at the same time as the one the index applied.
    async fn history(
        &self,
        store: &Store,
        index: &SearchIndex,
        database: &str,
    ) -> anyhow::Result<History> {
        let Some(mark) = index.mark()? else {
            return Ok(History::Unbuilt);
        };
        if mark.format != agora_search::FORMAT {
            return Ok(History::Diverged(format!(
                "the index holds format {} and this version searches format {}",
                mark.format,
                agora_search::FORMAT
            )));
        }
        if mark.database.as_deref() != Some(database) {
            return Ok(History::Diverged(match mark.database {
                None => "the index was built before indexes recorded their database".into(),
                Some(other) => format!(
                    "the index was built from database {other}, and this is {database} \
                     (a restore or a copy)"
                ),
            }));
        }
        let head = store.change_head().await?;
        if mark.position > head {
            return Ok(History::Diverged(format!(
                "the index has applied change {} but the database's log ends at {head}: \
                 the database went back in time (a restored backup, or writes it lost)",
                mark.position
            )));
        }
        if mark.position > 0 && store.change_at(mark.position).await? != mark.at {
            return Ok(History::Diverged(format!(
                "change {} in the database is not the change the index applied: the database \
                 went back in time and was written again",
                mark.position
            )));
        }
        Ok(History::Same)
    }

    /// Where the log of `database` stands at `position`, for an index's commit.
    async fn mark_at(
        store: &Store,
        database: &str,
        position: i64,
        at: Option<i64>,
    ) -> anyhow::Result<Mark> {
        let at = match at {
            Some(at) => Some(at),
            None if position > 0 => store.change_at(position).await?,
            None => None,
        };
        Ok(Mark {
            position,
            at,
            database: Some(database.to_string()),
            format: agora_search::FORMAT,
        })
    }

    /// Applies every change in the log the index has not seen, in batches, each committed
    /// with its position. Builds the index first if it never was, and again if it followed
    /// another history. Returns changes applied.
    pub async fn catch_up(&self, store: &Store) -> anyhow::Result<u64> {
        let _one = self.running.lock().await;
        let result = self.catch_up_locked(store).await;
        match &result {
            Ok(_) => self.set_failure(None),
            Err(err) => self.set_failure(Some(format!("{err:#}"))),
        }
        result
    }

    async fn catch_up_locked(&self, store: &Store) -> anyhow::Result<u64> {
        self.follow_generation()?;
        let mut index = self.index();
        // Read once a round: it changes only by a restore, which the check below notices.
        let database = store.database_id().await?;
        match self.history(store, &index, &database).await? {
            History::Same => self.trusted.store(true, Ordering::Release),
            History::Unbuilt => {
                let position = build_into(self, store, &index, None).await?;
                self.position.store(position, Ordering::Release);
                self.trusted.store(true, Ordering::Release);
            }
            History::Diverged(why) => {
                tracing::warn!(
                    reason = %why,
                    "search index: it does not follow this database's history; rebuilding it \
                     (searches answer nothing until then)"
                );
                self.trusted.store(false, Ordering::Release);
                self.related.clear();
                self.rebuild_now(store, None).await?;
                index = self.index();
                self.trusted.store(true, Ordering::Release);
            }
        }
        let mut applied = 0u64;
        loop {
            let from = index.position()?.unwrap_or(0);
            let changes = store.changes_after(from, BATCH).await?;
            let Some(last) = changes.last() else {
                break;
            };
            let mark = Self::mark_at(store, &database, last.seq, Some(last.at)).await?;
            let writes = self.plan_writes(store, &index, &changes).await?;
            self.apply_or_skip(&index, writes, mark).await?;
            self.forget_related(store, &changes).await?;
            self.position.store(last.seq, Ordering::Release);
            applied += changes.len() as u64;
            if changes.len() < BATCH {
                break;
            }
        }
        Ok(applied)
    }

    /// Applies a batch; when that fails, throws the writer away and tries once more with every
    /// post checked by the analyzers first, skipping (and reporting) any they cannot take.
    /// A failure that remains (a full disk) is returned: the next round opens a new writer and
    /// tries again, so indexing resumes on its own once the cause is gone.
    async fn apply_or_skip(
        &self,
        index: &Arc<SearchIndex>,
        writes: Vec<Write>,
        mark: Mark,
    ) -> anyhow::Result<()> {
        let writes = Arc::new(writes);
        let Err(first) = apply_blocking(index, writes.clone(), mark.clone()).await else {
            return Ok(());
        };
        tracing::warn!(error = %format!("{first:#}"), "search indexer: a batch failed; retrying it with a new writer");
        index.discard_writer();
        let writes = Arc::try_unwrap(writes).unwrap_or_else(|shared| {
            // The first attempt's task has ended, so this is not reached; copy to be safe.
            shared.iter().cloned().collect()
        });
        let (writes, skipped) = checked_writes(writes);
        self.skip(skipped);
        let result = apply_blocking(index, Arc::new(writes), mark).await;
        if result.is_err() {
            index.discard_writer();
        }
        result
    }

    /// Records posts that could not be indexed.
    fn skip(&self, posts: Vec<(i64, String)>) {
        if posts.is_empty() {
            return;
        }
        for (post, why) in &posts {
            tracing::error!(post, reason = %why, "search indexer: skipped a post it could not index");
        }
        if let Ok(mut skipped) = self.skipped.lock() {
            skipped.extend(posts);
        }
    }

    /// Posts now indexed are no longer reported as skipped.
    fn unskip(&self, posts: impl IntoIterator<Item = i64>) {
        if let Ok(mut skipped) = self.skipped.lock()
            && !skipped.is_empty()
        {
            for post in posts {
                skipped.remove(&post);
            }
        }
    }

    fn set_failure(&self, failure: Option<String>) {
        if let Ok(mut slot) = self.failure.lock() {
            *slot = failure;
        }
    }

    /// What is wrong with this node's search, for `/healthz`: empty when all is well.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Ok(failure) = self.failure.lock()
            && let Some(failure) = failure.as_ref()
        {
            out.push(format!("search indexer: {failure}"));
        }
        if let Ok(skipped) = self.skipped.lock()
            && !skipped.is_empty()
        {
            let ids: Vec<String> = skipped
                .keys()
                .take(SKIPPED_SHOWN)
                .map(i64::to_string)
                .collect();
            out.push(format!(
                "search indexer: {} post(s) could not be indexed and are not searchable (ids {}{}); see the log",
                skipped.len(),
                ids.join(", "),
                if skipped.len() > SKIPPED_SHOWN { ", …" } else { "" }
            ));
        }
        out
    }

    /// False while the index is not known to follow this database's history (before the
    /// indexer's first check, and while it rebuilds after a restore): searches answer nothing.
    pub fn trusted(&self) -> bool {
        self.trusted.load(Ordering::Acquire)
    }

    /// Reads what a batch of changes touched and turns it into documents.
    async fn plan_writes(
        &self,
        store: &Store,
        index: &SearchIndex,
        changes: &[ChangeRow],
    ) -> anyhow::Result<Vec<Write>> {
        let mut plan = Plan::of(changes);
        let mut writes = Vec::new();
        // Posts alone, unless their thread's shared facts changed (then the whole thread).
        let post_threads: Vec<ThreadId> = plan
            .post_threads
            .iter()
            .filter(|t| !plan.threads.contains(t))
            .copied()
            .collect();
        let mut facts: HashMap<ThreadId, IndexThreadRow> = HashMap::new();
        for (thread, _) in store.threads_for_index(post_threads, false).await? {
            let doc = thread_doc(&thread);
            if thread.removed || index.indexed_facets(doc.id)? != Some(doc.facets_hash()) {
                plan.threads.insert(thread.id);
            } else {
                facts.insert(thread.id, thread);
            }
        }
        // The changed posts, and what each thread's whole document is made of: its opening
        // post, its answers and its most boosted replies.
        let mut wanted: Vec<PostId> = plan.posts.iter().copied().collect();
        let mut whole: Vec<PostId> = Vec::new();
        for t in facts.values() {
            whole.extend(t.head_post);
            whole.extend(t.accepted_post);
            whole.extend(t.recommended_post);
        }
        let mut fact_threads: Vec<ThreadId> = facts.keys().copied().collect();
        fact_threads.sort_unstable();
        whole.extend(
            store
                .best_reply_ids(fact_threads, agora_search::WHOLE_REPLIES)
                .await?,
        );
        wanted.extend(whole.iter().copied());
        wanted.sort_unstable();
        wanted.dedup();
        let mut skipped = Vec::new();
        let mut indexed = Vec::new();
        let mut wholes: HashMap<ThreadId, Vec<PostDoc>> = HashMap::new();
        for post in store.posts_for_index(wanted).await? {
            let Some(thread) = facts.get(&post.thread) else {
                continue;
            };
            // Its text is read once, for the thread's whole document and its own.
            let doc = post_doc(&post);
            if post.visible
                && let Ok(doc) = &doc
            {
                wholes.entry(post.thread).or_default().push(doc.clone());
            }
            // The changed posts, and the opening post (its `unanswered` state follows replies).
            if !plan.posts.contains(&post.id) && thread.head_post != Some(post.id) {
                continue;
            }
            match doc {
                Ok(doc) if post.visible => {
                    indexed.push(doc.id);
                    writes.push(Write::Post(thread_doc(thread), doc));
                }
                Ok(_) => writes.push(Write::RemovePost(post.id.0)),
                Err(why) => {
                    // Its old text must not stay findable either.
                    skipped.push((post.id.0, why));
                    writes.push(Write::RemovePost(post.id.0));
                }
            }
        }
        for (id, thread) in &facts {
            let mut posts = wholes.remove(id).unwrap_or_default();
            posts.sort_by_key(|p| p.position);
            writes.push(Write::Whole(thread_doc(thread), posts));
        }
        // Posts that no longer exist at all.
        let mut threads: Vec<ThreadId> = plan.threads.into_iter().collect();
        threads.sort_unstable();
        let found = store.threads_for_index(threads.clone(), true).await?;
        let present: HashSet<ThreadId> = found.iter().map(|(t, _)| t.id).collect();
        for (thread, posts) in found {
            if thread.removed {
                writes.push(Write::RemoveThread(thread.id.0));
            } else {
                let (docs, bad) = post_docs(&posts);
                indexed.extend(docs.iter().map(|d| d.id));
                skipped.extend(bad);
                writes.push(Write::Thread(thread_doc(&thread), docs));
            }
        }
        for gone in threads.into_iter().filter(|t| !present.contains(t)) {
            writes.push(Write::RemoveThread(gone.0));
        }
        self.skip(skipped);
        self.unskip(indexed);
        Ok(writes)
    }

    /// Builds a new generation from the database and makes it live; the indexer then applies
    /// what changed during the build. Returns the documents indexed.
    pub async fn rebuild(&self, store: &Store, bar: Option<ProgressBar>) -> anyhow::Result<u64> {
        self.rebuild_now(store, bar).await
    }

    async fn rebuild_now(&self, store: &Store, bar: Option<ProgressBar>) -> anyhow::Result<u64> {
        let fresh = SearchIndex::create_generation(
            &self.root,
            self.config.rebuild_threads.max(1),
            self.config.rebuild_memory_mb.max(32) << 20,
        )?;
        let fresh = Arc::new(fresh);
        let built = match build_into(self, store, &fresh, bar).await {
            Ok(_) => fresh.finish().map_err(anyhow::Error::from),
            Err(err) => Err(err),
        };
        if let Err(err) = built {
            // A failed build leaves nothing behind (a full disk must not fill up further).
            if let Ok(fresh) = Arc::try_unwrap(fresh) {
                fresh.discard(&self.root);
            }
            return Err(err);
        }
        let documents = fresh.status(&self.root)?.documents;
        let Ok(fresh) = Arc::try_unwrap(fresh) else {
            anyhow::bail!("the rebuilt index is still in use");
        };
        fresh.publish(&self.root)?;
        self.follow_generation()?;
        Ok(documents)
    }

    /// Runs the indexer until `stop`: catches up whenever the store's change counter moves
    /// (this node's writes, or another node's notifications) and every `poll_ms` regardless.
    pub async fn follow(self: Arc<Self>, store: Store, stop: Arc<tokio::sync::Notify>) {
        let changes = store.changes();
        let tick = Duration::from_millis(self.config.commit_interval_ms.max(10));
        let poll = Duration::from_millis(self.config.poll_ms.max(50));
        let mut last_poll = Instant::now() - poll;
        // After a failure, wait longer before each retry (up to a minute): a full disk or a
        // rebuild that cannot finish must not keep both cores busy.
        let mut failures = 0u32;
        let mut retry_at = Instant::now();
        loop {
            let counter = changes.load(Ordering::Acquire);
            let moved = counter != self.seen_changes.load(Ordering::Acquire);
            if (moved || last_poll.elapsed() >= poll) && Instant::now() >= retry_at {
                self.seen_changes.store(counter, Ordering::Release);
                last_poll = Instant::now();
                match self.catch_up(&store).await {
                    Ok(_) => failures = 0,
                    Err(err) => {
                        failures = failures.saturating_add(1);
                        let wait = poll
                            .saturating_mul(1 << failures.min(5))
                            .min(Duration::from_secs(60));
                        retry_at = Instant::now() + wait;
                        tracing::warn!(
                            error = %err,
                            retry_in_secs = wait.as_secs_f64(),
                            "search indexer: could not apply changes; will retry"
                        );
                    }
                }
            }
            tokio::select! {
                () = tokio::time::sleep(tick) => {}
                () = stop.notified() => break,
            }
        }
        if let Err(err) = self.index().finish() {
            tracing::warn!(error = %err, "search indexer: could not finish merging");
        }
    }

    /// Runs a query and reads the page's threads and snippets back from the database.
    pub async fn search(
        &self,
        store: &Store,
        query: &Query,
        offset: usize,
        limit: usize,
    ) -> anyhow::Result<Results> {
        if !self.trusted() {
            return Ok(Results {
                items: Vec::new(),
                more: false,
                found: Found::default(),
            });
        }
        let found = self.index().search(query, offset, limit)?;
        let items = hydrate(store, &found.hits, Some(&found)).await?;
        Ok(Results {
            more: found.more,
            items,
            found,
        })
    }

    /// Threads like `text`, read back from the database, best match first (answered threads
    /// a little ahead of equal matches).
    pub async fn similar(
        &self,
        store: &Store,
        text: &str,
        exclude: Option<ThreadId>,
        limit: usize,
    ) -> anyhow::Result<Vec<ThreadSummary>> {
        if !self.trusted() {
            return Ok(Vec::new());
        }
        let hits = self.index().similar(text, exclude.map(|t| t.0), limit)?;
        let scores: HashMap<ThreadId, f32> = hits
            .iter()
            .map(|h| (ThreadId(h.thread_id), h.score))
            .collect();
        let mut items: Vec<(f32, ThreadSummary)> = hydrate(store, &hits, None)
            .await?
            .into_iter()
            .map(|r| {
                let score = scores.get(&r.thread.id).copied().unwrap_or(0.0);
                // An answered thread is worth a little more; never more than a better match.
                let answered = 1.0
                    + if r.thread.solved { SOLVED_BOOST } else { 0.0 }
                    + if r.thread.staff_answered {
                        SOLVED_BOOST / 2.0
                    } else {
                        0.0
                    };
                (score * answered, r.thread)
            })
            .collect();
        items.sort_by(|x, y| y.0.total_cmp(&x.0));
        Ok(items.into_iter().map(|(_, t)| t).collect())
    }
}

/// Reads the threads of `hits` back, in order, leaving out removed threads and (with
/// `found`) cutting snippets from visible posts only.
async fn hydrate(store: &Store, hits: &[Hit], found: Option<&Found>) -> anyhow::Result<Vec<Match>> {
    if hits.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<ThreadId> = hits.iter().map(|h| ThreadId(h.thread_id)).collect();
    let mut summaries: HashMap<ThreadId, ThreadSummary> = store
        .live_summaries(ids)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    // The matched post must still be visible: a thread found only through a post hidden or
    // deleted since it was indexed is left out (listing it would tell that the text exists).
    let posts: Vec<PostId> = hits.iter().map(|h| PostId(h.post_id)).collect();
    let mut visible: HashMap<PostId, (i64, String)> = HashMap::new();
    for (post, thread, position, html) in store.visible_posts(posts, found.is_some()).await? {
        if summaries.contains_key(&thread) {
            visible.insert(post, (position, html));
        }
    }
    let mut out = Vec::new();
    for hit in hits {
        let Some((position, html)) = visible.get(&PostId(hit.post_id)) else {
            continue;
        };
        let Some(thread) = summaries.remove(&ThreadId(hit.thread_id)) else {
            continue;
        };
        let snippet_html = match found {
            Some(found) => {
                agora_search::snippet_html(&agora_markup::html_text(html), &found.highlight, 220)
            }
            None => String::new(),
        };
        out.push(Match {
            thread,
            snippet_html,
            post: PostId(hit.post_id),
            position: *position,
        });
    }
    Ok(out)
}

/// Indexes every live thread into `index` and commits it at the change-log head read before
/// the first chunk (changes during the build are applied afterwards; indexing is idempotent).
/// If the build fails, it is done once more with every post checked by the analyzers first,
/// skipping (and reporting) any they cannot take.
async fn build_into(
    search: &Search,
    store: &Store,
    index: &Arc<SearchIndex>,
    bar: Option<ProgressBar>,
) -> anyhow::Result<i64> {
    match build_pass(search, store, index, bar.clone(), false).await {
        Ok(head) => Ok(head),
        Err(err) => {
            tracing::warn!(
                error = %format!("{err:#}"),
                "search index: the build failed; building again with every post checked first"
            );
            index.discard_writer();
            let result = build_pass(search, store, index, bar, true).await;
            if result.is_err() {
                index.discard_writer();
            }
            result
        }
    }
}

async fn build_pass(
    search: &Search,
    store: &Store,
    index: &Arc<SearchIndex>,
    bar: Option<ProgressBar>,
    careful: bool,
) -> anyhow::Result<i64> {
    let head = store.change_head().await?;
    let database = store.database_id().await?;
    let mark = Search::mark_at(store, &database, head, None).await?;
    let started = Instant::now();
    let mut after = ThreadId(0);
    let mut posts = 0u64;
    loop {
        let chunk = store.thread_chunk_for_index(after, REBUILD_CHUNK).await?;
        let Some(last) = chunk.last().map(|(t, _)| t.id) else {
            break;
        };
        after = last;
        let index = index.clone();
        let task =
            tokio::task::spawn_blocking(move || -> anyhow::Result<(u64, Vec<(i64, String)>)> {
                let mut n = 0;
                let mut skipped = Vec::new();
                for (thread, rows) in chunk {
                    if thread.removed {
                        continue;
                    }
                    let (mut docs, bad) = post_docs(&rows);
                    skipped.extend(bad);
                    if careful {
                        docs.retain(|d| match agora_search::analyzer::check_text(&d.text) {
                            Ok(()) => true,
                            Err(why) => {
                                skipped.push((d.id, why));
                                false
                            }
                        });
                    }
                    n += docs.len() as u64;
                    index.replace_thread(&thread_doc(&thread), &docs)?;
                }
                Ok((n, skipped))
            });
        let (n, skipped) = match task.await {
            Ok(result) => result?,
            Err(join) if join.is_panic() => anyhow::bail!(
                "indexing panicked: {}",
                agora_search::analyzer::panic_message(join.into_panic().as_ref())
            ),
            Err(join) => return Err(join.into()),
        };
        search.skip(skipped);
        posts += n;
        if let Some(bar) = &bar {
            bar.set_position(posts);
        }
    }
    let index2 = index.clone();
    tokio::task::spawn_blocking(move || index2.commit(&mark)).await??;
    tracing::info!(
        posts,
        position = head,
        secs = started.elapsed().as_secs_f64(),
        "search index built"
    );
    Ok(head)
}

/// `?q=…&page=…`, as typed (parsed by the services).
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// The query: words, "phrases", -exclusions, tag:, in:, author:, is:, before:, after:, sort:.
    pub q: Option<String>,
    #[param(schema_with = crate::services::search::page_schema)]
    pub page: Option<String>,
}

/// Results per page.
pub const RESULTS_PER_PAGE: usize = 20;
/// Deepest page offered: ranking reads a bounded number of candidates.
pub const MAX_RESULT_PAGE: u32 = 40;

/// A search's `page` as the OpenAPI document states it: 1 to [`MAX_RESULT_PAGE`].
pub fn page_schema() -> utoipa::openapi::Object {
    crate::services::read::page_schema_to(MAX_RESULT_PAGE)
}

/// The search page's view for `q`, page `page`: the same for the HTML page and the API.
pub async fn search_page(
    state: &crate::app::AppState,
    q: &str,
    page: u32,
) -> Result<crate::views::SearchPageView, crate::error::AppError> {
    use crate::paths;
    use crate::views::{SearchLinkView, SearchPageView, SearchResultView, ThreadSummaryView};
    if page > MAX_RESULT_PAGE {
        return Err(crate::error::AppError::bad_param(
            "page",
            format!(
                "search results go up to page {MAX_RESULT_PAGE}; narrow the search with more words or a filter"
            ),
        ));
    }
    let mut query = agora_search::parse(q);
    if state.search.position() < 0 && !query.is_empty() {
        query.notices.push(
            "The search index is still being built; some threads may be missing for a few minutes."
                .into(),
        );
    } else if !state.search.trusted() && !query.is_empty() {
        query.notices.push(
            "The search index is being checked against the database, or rebuilt after a restore; \
             results will be back in a moment."
                .into(),
        );
    }
    let offset = (page as usize - 1) * RESULTS_PER_PAGE;
    let results = state
        .search
        .search(&state.store, &query, offset, RESULTS_PER_PAGE)
        .await
        .map_err(crate::error::AppError::Internal)?;
    let now = agora_store::Timestamp::now();
    let items: Vec<SearchResultView> = results
        .items
        .iter()
        .map(|m| {
            let thread = ThreadSummaryView::new(&m.thread, now);
            let post_url = paths::post(
                m.thread.id,
                &m.thread.slug,
                m.position,
                m.post,
                crate::services::read::POSTS_PER_PAGE,
            );
            SearchResultView {
                thread,
                snippet_html: m.snippet_html.clone(),
                post_url,
            }
        })
        .collect();
    let corrections = &results.found.corrections;
    let did_you_mean = (!corrections.is_empty()).then(|| {
        let fixed = query.render_with(&|w| {
            corrections
                .iter()
                .find(|c| c.typed == w)
                .map(|c| c.instead.clone())
        });
        SearchLinkView {
            url: paths::search(&fixed, 1),
            label: fixed,
            current: false,
        }
    });
    let sorts = agora_search::Sort::ALL
        .into_iter()
        .map(|sort| {
            let mut with = query.clone();
            with.sort = sort;
            SearchLinkView {
                label: sort.keyword().to_string(),
                url: paths::search(&with.render_with(&|_| None), 1),
                current: sort == query.sort,
            }
        })
        .collect();
    let more = results.more && page < MAX_RESULT_PAGE;
    Ok(SearchPageView {
        query: q.to_string(),
        notices: query.notices.clone(),
        did_you_mean,
        partial: results.found.partial && !items.is_empty(),
        results: items,
        page,
        prev_url: (page > 1).then(|| paths::search(q, page - 1)),
        next_url: more.then(|| paths::search(q, page + 1)),
        sorts,
        feed_rss: paths::search_feed(q, "rss"),
        feed_atom: paths::search_feed(q, "atom"),
    })
}

/// Threads that may answer a question titled `title` (with `body`, if any), as listing rows;
/// empty when search is unavailable (a suggestion is never worth an error page).
pub async fn similar_views(
    state: &crate::app::AppState,
    title: &str,
    body: &str,
    exclude: Option<ThreadId>,
) -> Vec<crate::views::ThreadSummaryView> {
    const SIMILAR: usize = 5;
    // The title says what the question is about; the body's opening adds context.
    let body_start: String = body.chars().take(600).collect();
    let text = format!("{title}\n{title}\n{body_start}");
    let found = state
        .search
        .similar(&state.store, &text, exclude, SIMILAR)
        .await;
    summary_views(found, "similar threads")
}

/// Listing rows for threads found by the index, or none (logged) when search failed: a
/// suggestion is never worth an error page.
fn summary_views(
    found: anyhow::Result<Vec<ThreadSummary>>,
    what: &str,
) -> Vec<crate::views::ThreadSummaryView> {
    match found {
        Ok(threads) => {
            let now = agora_store::Timestamp::now();
            threads
                .iter()
                .map(|t| crate::views::ThreadSummaryView::new(t, now))
                .collect()
        }
        Err(err) => {
            tracing::warn!(error = %err, "{what}: search failed");
            Vec::new()
        }
    }
}

/// The "Related threads" under a thread page; empty when search is unavailable.
pub async fn related_views(
    state: &crate::app::AppState,
    thread: ThreadId,
    title: &str,
    excerpt: &str,
) -> Vec<crate::views::ThreadSummaryView> {
    let found = state
        .search
        .related(&state.store, thread, title, excerpt)
        .await;
    summary_views(found, "related threads")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(seq: i64, kind: ChangeKind, thread: Option<i64>, post: Option<i64>) -> ChangeRow {
        ChangeRow {
            seq,
            at: seq,
            kind,
            actor: None,
            thread: thread.map(ThreadId),
            post: post.map(PostId),
        }
    }

    #[test]
    fn plans_follow_the_kind_and_an_unknown_kind_reindexes_its_thread() {
        let plan = Plan::of(&[
            change(1, ChangeKind::PostEdited, Some(1), Some(10)),
            change(2, ChangeKind::ThreadPinned, Some(2), None),
            change(3, ChangeKind::FlagRaised, Some(3), Some(30)),
            change(4, ChangeKind::ThreadMoved, Some(4), None),
            change(5, ChangeKind::parse("thread.archived"), Some(5), None),
            change(6, ChangeKind::parse("post.translated"), Some(6), Some(60)),
            change(7, ChangeKind::parse("user.renamed"), None, None),
        ]);
        let mut threads: Vec<i64> = plan.threads.iter().map(|t| t.0).collect();
        threads.sort_unstable();
        assert_eq!(threads, [4, 5, 6]);
        assert_eq!(plan.posts, HashSet::from([PostId(10)]));
        assert_eq!(plan.post_threads, HashSet::from([ThreadId(1)]));
    }
}
