//! What a signed-in reader's own parts of a thread page depend on (their boosts, bookmarks,
//! reply draft and watch level), read together: six reads on one connection sent as one batch
//! (`Conn::query_batch`: one round trip on PostgreSQL) and, on SQLite, inside one read
//! transaction, instead of a dozen separate point reads each taking the database's read lock.

use crate::StoreError;
use crate::bookmarks::{self, BookmarkRow, read_bookmark};
use crate::db::{Conn, Query, params};
use crate::drafts::{self, DraftPlace, DraftRow};
use crate::forum::{boosted_of, boosts_among};
use crate::model::*;
use crate::notifications::{NotifyPrefs, WatchLevel, WatchTarget, posted_in, prefs_of, read_prefs};

/// One reader's facts about one page of a thread.
#[derive(Clone, Debug, Default)]
pub struct ThreadReader {
    /// Which of the page's posts they boosted.
    pub boosted: Vec<PostId>,
    /// Their bookmarks of the thread and of its posts.
    pub bookmarks: Vec<BookmarkRow>,
    /// Their draft of a reply to the thread (when asked for: only a reader who may reply has one
    /// shown).
    pub reply_draft: Option<DraftRow>,
    /// Their explicit watches on the thread, its subtopic and its tags.
    pub watches: Vec<(UserId, WatchTarget, WatchLevel)>,
    /// Whether they wrote a post in the thread that is not deleted.
    pub posted: bool,
    pub prefs: NotifyPrefs,
}

/// What thread page's reader needs to know of `user`; `posts` are the page's posts.
pub async fn thread_reader<C: Conn>(
    conn: &mut C,
    user: UserId,
    thread: ThreadId,
    subtopic: SubtopicId,
    posts: &[PostId],
    with_draft: bool,
) -> Result<ThreadReader, StoreError> {
    // The thread's tags by id, from the thread itself: no lookup of each tag's slug.
    let watches = Query::new(
        "SELECT target_kind, target_id, level FROM watches WHERE user_id = ?1 \
         AND ((target_kind = 'thread' AND target_id = ?2) \
         OR (target_kind = 'subtopic' AND target_id = ?3) \
         OR (target_kind = 'tag' AND target_id IN \
         (SELECT tag_id FROM thread_tags WHERE thread_id = ?2)))",
        params![user.0, thread.0, subtopic.0],
    );
    let mut reads = vec![
        boosts_among(user, posts),
        bookmarks::in_thread(user, thread),
        watches,
        posted_in(user, thread),
        prefs_of(&[user]),
    ];
    if with_draft {
        reads.push(drafts::at(user, DraftPlace::Reply(thread)));
    }
    let answers = conn.query_batch(&reads).await?;
    let [boosts, bookmarks, watches, posted, prefs, draft @ ..] = answers.as_slice() else {
        return Err(StoreError::Internal(
            "a read of the batch is missing".into(),
        ));
    };
    let mut watch_rows = Vec::with_capacity(watches.len());
    for row in watches {
        let id = row.int(1)?;
        let target = match row.text(0)?.as_str() {
            "thread" => WatchTarget::Thread(ThreadId(id)),
            "subtopic" => WatchTarget::Subtopic(id),
            _ => WatchTarget::Tag(id),
        };
        if let Some(level) = WatchLevel::parse(&row.text(2)?) {
            watch_rows.push((user, target, level));
        }
    }
    Ok(ThreadReader {
        boosted: boosted_of(boosts, posts)?,
        bookmarks: bookmarks
            .iter()
            .map(read_bookmark)
            .collect::<Result<_, _>>()?,
        reply_draft: match draft.first() {
            Some(rows) => drafts::first_draft(rows)?,
            None => None,
        },
        watches: watch_rows,
        posted: !posted.is_empty(),
        prefs: match prefs.first() {
            Some(row) => read_prefs(row)?.1,
            None => NotifyPrefs::default(),
        },
    })
}
