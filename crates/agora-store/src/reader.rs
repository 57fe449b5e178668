//! What a signed-in reader's own parts of a thread page depend on (their boosts, bookmarks,
//! reply draft and watch level), read together: one connection and, on SQLite, one read
//! transaction, instead of a dozen separate point reads each taking the database's read lock.

use crate::StoreError;
use crate::bookmarks::{BookmarkRow, bookmarks_in_thread};
use crate::db::{Conn, params};
use crate::drafts::{DraftPlace, DraftRow, draft_at};
use crate::forum::boosted_by;
use crate::model::*;
use crate::notifications::{NotifyPrefs, WatchLevel, WatchTarget, has_posted_in, notify_prefs};

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
    let boosted = boosted_by(conn, user, posts).await?;
    let bookmarks = bookmarks_in_thread(conn, user, thread).await?;
    let reply_draft = if with_draft {
        draft_at(conn, user, DraftPlace::Reply(thread)).await?
    } else {
        None
    };
    // The thread's tags by id, from the thread itself: no lookup of each tag's slug.
    let rows = conn
        .query(
            "SELECT target_kind, target_id, level FROM watches WHERE user_id = ?1 \
             AND ((target_kind = 'thread' AND target_id = ?2) \
             OR (target_kind = 'subtopic' AND target_id = ?3) \
             OR (target_kind = 'tag' AND target_id IN \
             (SELECT tag_id FROM thread_tags WHERE thread_id = ?2)))",
            params![user.0, thread.0, subtopic.0],
        )
        .await?;
    let mut watches = Vec::with_capacity(rows.len());
    for row in rows {
        let id = row.int(1)?;
        let target = match row.text(0)?.as_str() {
            "thread" => WatchTarget::Thread(ThreadId(id)),
            "subtopic" => WatchTarget::Subtopic(id),
            _ => WatchTarget::Tag(id),
        };
        if let Some(level) = WatchLevel::parse(&row.text(2)?) {
            watches.push((user, target, level));
        }
    }
    let posted = has_posted_in(conn, user, thread).await?;
    let prefs = notify_prefs(conn, user).await?;
    Ok(ThreadReader {
        boosted,
        bookmarks,
        reply_draft,
        watches,
        posted,
        prefs,
    })
}
