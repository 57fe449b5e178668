//! "Related threads" under a thread page: found by the search index, kept in the database.
//!
//! Finding them is a similarity search over every post: about 7 ms of CPU on a million
//! posts, the largest cost of an uncached thread page, and the answer changes slowly. So each
//! thread's list is found once and kept (`related_threads`):
//! - by the sweep ([`Search::keep_related`]) for live threads that have none (after an upgrade
//!   or an import) and for lists older than a week, at most half of one core;
//! - by `agora search related`, for every thread that has none, on every core;
//! - by a render that finds none kept (a new thread); the render only queues it, the sweep
//!   writes it.
//!
//! A render reads the kept list (one row), or this node's memory of it for ten minutes. A
//! removed thread, or one found only through a post hidden since, is left out when shown.

use super::*;
use agora_store::{RelatedList, RelatedSource, Timestamp};

/// How long this node reuses a list before reading it again.
const RELATED_FRESH: Duration = Duration::from_secs(600);
/// Related threads shown under a thread.
const RELATED: usize = 5;
/// A kept list older than this is found again by the sweep.
const RELATED_STALE: Duration = Duration::from_secs(7 * 24 * 3600);
/// Threads per step of the sweep.
const SWEEP_BATCH: i64 = 64;
/// Threads per step of `agora search related`.
const FILL_BATCH: i64 = 512;
/// How often the sweep keeps what renders found, when it has nothing else to do.
const SWEEP_REST: Duration = Duration::from_secs(5);
/// How often the sweep looks again for threads without a list, once it found none.
const SWEEP_LOOK_AGAIN: Duration = Duration::from_secs(600);
/// Lists found by renders and waiting for the sweep, at most (more are found again later).
const FOUND_QUEUE: usize = 10_000;

/// What a thread is compared by: its title, weighted twice, and its opening.
fn related_text(title: &str, excerpt: &str) -> String {
    format!("{title}\n{title}\n{excerpt}")
}

fn as_list(hits: &[Hit]) -> RelatedList {
    hits.iter()
        .map(|h| (ThreadId(h.thread_id), PostId(h.post_id)))
        .collect()
}

fn as_hits(list: &RelatedList) -> Vec<Hit> {
    list.iter()
        .map(|(thread, post)| Hit {
            thread_id: thread.0,
            post_id: post.0,
            score: 0.0,
            coverage: 0.0,
        })
        .collect()
}

/// Where the sweep stands.
pub struct Sweep {
    /// Threads without a list are looked for below this id (newest first); 0 once none are
    /// left, until `look_again`.
    cursor: i64,
    /// Passes after the first look only above this id: the newest thread when the last finished
    /// pass began. Threads at or below it had lists when that pass ended, and newer threads get
    /// higher ids, so looking again costs one short read on a forum whose lists are all
    /// found (a full pass read every thread: 0.2–1.1 s on PostgreSQL with 98,000 threads). A
    /// thread below it that loses its list (a retitle) gets one again from its next render.
    floor: i64,
    /// The newest thread when this pass began: the next floor once it ends.
    top: i64,
    look_again: Instant,
}

impl Default for Sweep {
    /// The first step begins a pass over every thread.
    fn default() -> Self {
        Sweep {
            cursor: 0,
            floor: 0,
            top: 0,
            look_again: Instant::now(),
        }
    }
}

impl Sweep {
    /// Looks for threads without a list at the next step rather than when `look_again` comes.
    pub fn look_again_now(&mut self) {
        self.look_again = Instant::now();
    }
}

impl Search {
    /// Threads related to `thread` (titled `title`, opening with `excerpt`), read back from
    /// the database.
    pub async fn related(
        &self,
        store: &Store,
        thread: ThreadId,
        title: &str,
        excerpt: &str,
    ) -> anyhow::Result<Vec<ThreadSummary>> {
        if !self.trusted() {
            return Ok(Vec::new());
        }
        let hits = match self.related.get(&thread) {
            Some((at, hits)) if at.elapsed() < RELATED_FRESH => hits,
            _ => {
                let hits = match store.related_of(thread).await? {
                    Some((list, _)) => as_hits(&list),
                    None => {
                        // Milliseconds of CPU on a large forum: off the request workers.
                        let index = self.index();
                        let text = related_text(title, excerpt);
                        let hits = tokio::task::spawn_blocking(move || {
                            index.similar(&text, Some(thread.0), RELATED)
                        })
                        .await??;
                        // An empty answer may only mean the index has not caught up: ask
                        // again next time, and keep nothing.
                        if !hits.is_empty()
                            && let Ok(mut found) = self.related_found.lock()
                            && found.len() < FOUND_QUEUE
                        {
                            found.push((thread, as_list(&hits)));
                        }
                        hits
                    }
                };
                if !hits.is_empty() {
                    self.related.insert(thread, (Instant::now(), hits.clone()));
                }
                hits
            }
        };
        Ok(hydrate(store, &hits, None)
            .await?
            .into_iter()
            .map(|m| m.thread)
            .collect())
    }

    /// Forgets the related threads of threads whose title or opening these changes rewrote:
    /// their next render finds them again.
    pub(super) async fn forget_related(
        &self,
        store: &Store,
        changes: &[ChangeRow],
    ) -> anyhow::Result<()> {
        let rewritten: Vec<ThreadId> = changes
            .iter()
            .filter(|c| {
                matches!(
                    c.kind,
                    ChangeKind::ThreadRetitled | ChangeKind::ThreadRewritten
                )
            })
            .filter_map(|c| c.thread)
            .collect();
        for thread in &rewritten {
            self.related.remove(thread);
        }
        store.forget_related(rewritten).await?;
        Ok(())
    }

    /// Finds the related threads of `sources` with the index, on the blocking pool, split
    /// over `workers` threads.
    async fn find_related(
        &self,
        sources: Vec<RelatedSource>,
        workers: usize,
    ) -> anyhow::Result<Vec<(ThreadId, RelatedList)>> {
        if sources.is_empty() {
            return Ok(Vec::new());
        }
        let index = self.index();
        tokio::task::spawn_blocking(move || {
            let find = |part: &[RelatedSource]| -> anyhow::Result<Vec<(ThreadId, RelatedList)>> {
                part.iter()
                    .map(|(id, title, excerpt)| {
                        let hits =
                            index.similar(&related_text(title, excerpt), Some(id.0), RELATED)?;
                        Ok((*id, as_list(&hits)))
                    })
                    .collect()
            };
            if workers <= 1 {
                return find(&sources);
            }
            let chunk = sources.len().div_ceil(workers).max(1);
            std::thread::scope(|scope| {
                let parts: Vec<_> = sources
                    .chunks(chunk)
                    .map(|part| scope.spawn(move || find(part)))
                    .collect();
                let mut out = Vec::with_capacity(sources.len());
                for part in parts {
                    out.extend(
                        part.join()
                            .map_err(|_| anyhow::anyhow!("finding related threads panicked"))??,
                    );
                }
                Ok(out)
            })
        })
        .await?
    }

    /// Keeps the lists renders found; then finds lists for up to [`SWEEP_BATCH`] threads that
    /// have none, or else a stale one. Returns how many threads it found lists for.
    pub async fn sweep_related(&self, store: &Store, sweep: &mut Sweep) -> anyhow::Result<usize> {
        let found = match self.related_found.lock() {
            Ok(mut found) => std::mem::take(&mut *found),
            Err(_) => Vec::new(),
        };
        store.save_related(found).await?;
        if !self.trusted() {
            return Ok(0);
        }
        if sweep.cursor == 0 && Instant::now() >= sweep.look_again {
            sweep.top = store.newest_thread_id().await?;
            sweep.cursor = i64::MAX;
        }
        let mut sources = Vec::new();
        if sweep.cursor > 0 {
            sources = store
                .threads_without_related(sweep.cursor, sweep.floor, SWEEP_BATCH)
                .await?;
            match sources.iter().map(|s| s.0.0).min() {
                Some(lowest) => sweep.cursor = lowest,
                None => {
                    sweep.cursor = 0;
                    sweep.floor = sweep.floor.max(sweep.top);
                    sweep.look_again = Instant::now() + SWEEP_LOOK_AGAIN;
                }
            }
        }
        if sources.is_empty() {
            let stale = i64::try_from(RELATED_STALE.as_micros()).unwrap_or(i64::MAX);
            let older_than = Timestamp::from_micros(Timestamp::now().micros() - stale);
            sources = store
                .threads_with_stale_related(older_than, SWEEP_BATCH)
                .await?;
        }
        let lists = self.find_related(sources, 1).await?;
        let count = lists.len();
        for (thread, _) in &lists {
            self.related.remove(thread);
        }
        store.save_related(lists).await?;
        Ok(count)
    }

    /// Runs the sweep until `stop`: while it has work, it rests as long as each step took
    /// (half of one core at most).
    pub async fn keep_related(self: Arc<Self>, store: Store, stop: Arc<tokio::sync::Notify>) {
        let mut sweep = Sweep::default();
        loop {
            let started = Instant::now();
            let rest = match self.sweep_related(&store, &mut sweep).await {
                Ok(0) => SWEEP_REST,
                Ok(_) => started.elapsed().max(Duration::from_millis(10)),
                Err(err) => {
                    tracing::warn!(error = %format!("{err:#}"), "related threads: could not keep them; will retry");
                    SWEEP_REST
                }
            };
            tokio::select! {
                () = tokio::time::sleep(rest) => {}
                () = stop.notified() => break,
            }
        }
        // What renders found since the last step.
        let found = match self.related_found.lock() {
            Ok(mut found) => std::mem::take(&mut *found),
            Err(_) => Vec::new(),
        };
        if let Err(err) = store.save_related(found).await {
            tracing::warn!(error = %err, "related threads: could not keep the last ones found");
        }
    }

    /// Finds related threads for every live thread that has none, on every core (what
    /// `agora search related` runs). Returns how many threads it found lists for.
    pub async fn fill_related(
        &self,
        store: &Store,
        bar: Option<ProgressBar>,
    ) -> anyhow::Result<u64> {
        // Against an index that is not built, or behind, every list would come out empty or
        // short, and be kept for a week.
        self.catch_up(store).await?;
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut cursor = i64::MAX;
        let mut total = 0u64;
        loop {
            let sources = store.threads_without_related(cursor, 0, FILL_BATCH).await?;
            let Some(lowest) = sources.iter().map(|s| s.0.0).min() else {
                break;
            };
            cursor = lowest;
            let lists = self.find_related(sources, workers).await?;
            total += lists.len() as u64;
            if let Some(bar) = &bar {
                bar.inc(lists.len() as u64);
            }
            store.save_related(lists).await?;
        }
        Ok(total)
    }
}
