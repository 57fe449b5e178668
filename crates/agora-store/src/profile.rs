//! A member's profile tabs (their posts, threads, replies, accepted answers, boosts given and
//! received) and the site-wide feed's newest threads. Only what every reader may see is ever
//! read: a post deleted or hidden, or in a removed thread, is left out of lists and counts alike.

use crate::db::{Conn, Row, params};
use crate::model::{
    PostId, ProfileCounts, ProfileItemRow, ProfileTab, ThreadId, ThreadSummary, Timestamp,
    UserBrief, UserId,
};
use crate::postgres::PgConn;
use crate::queries::{collect, read_summary};
use crate::{Backend, Store, StoreError, sql, sqlite};

/// What every reader may see of a post (`p`) and its thread (`t`).
const VISIBLE: &str = "p.deleted_at IS NULL AND p.hidden_at IS NULL AND t.removed_at IS NULL";

/// The post, its author (`u`) and its thread's place; read by [`read_item`] in this order.
const ITEM_COLUMNS: &str = "p.id, p.position, u.id, u.username, u.display_name, u.role, \
     u.staff_title, p.created_at, p.boost_count, p.body_md, p.body_html, t.id, t.slug, t.title, \
     a.slug, s.slug, s.name, COALESCE(t.accepted_post_id = p.id, FALSE)";
const ITEM_WIDTH: usize = 18;

/// The booster (`bu`) and the boost (`b`), after [`ITEM_COLUMNS`] on the boost tabs.
const BOOST_COLUMNS: &str =
    "bu.id, bu.username, bu.display_name, bu.role, bu.staff_title, b.created_at";

const PLACE_JOINS: &str = "JOIN subtopics s ON s.id = t.subtopic_id \
     JOIN areas a ON a.id = s.area_id JOIN users u ON u.id = p.author_id";

/// The FROM and WHERE of one tab (`?1` the member), and its order.
fn tab_source(tab: ProfileTab) -> (String, &'static str) {
    let posts = "FROM posts p JOIN threads t ON t.id = p.thread_id";
    let boosts =
        "FROM boosts b JOIN posts p ON p.id = b.post_id JOIN threads t ON t.id = p.thread_id";
    // The author index (`posts_by_author`, `threads_by_author`, `boosts_by_user`) gives each
    // tab's rows in order; boosts received walk the member's posts and their boosts.
    match tab {
        ProfileTab::Activity => (
            format!("{posts} WHERE p.author_id = ?1 AND {VISIBLE}"),
            "p.created_at DESC, p.id DESC",
        ),
        ProfileTab::Threads => (
            format!(
                "FROM threads t JOIN posts p ON p.thread_id = t.id AND p.position = 0 \
                 WHERE t.author_id = ?1 AND {VISIBLE}"
            ),
            "t.created_at DESC, t.id DESC",
        ),
        ProfileTab::Replies => (
            format!("{posts} WHERE p.author_id = ?1 AND p.position > 0 AND {VISIBLE}"),
            "p.created_at DESC, p.id DESC",
        ),
        ProfileTab::Answers => (
            format!("{posts} WHERE p.author_id = ?1 AND t.accepted_post_id = p.id AND {VISIBLE}"),
            "p.created_at DESC, p.id DESC",
        ),
        ProfileTab::BoostsGiven => (
            format!("{boosts} WHERE b.user_id = ?1 AND {VISIBLE}"),
            "b.created_at DESC, b.post_id DESC",
        ),
        ProfileTab::BoostsReceived => (
            format!("{boosts} WHERE p.author_id = ?1 AND {VISIBLE}"),
            "b.created_at DESC, b.post_id DESC, b.user_id DESC",
        ),
    }
}

fn is_boost_tab(tab: ProfileTab) -> bool {
    matches!(tab, ProfileTab::BoostsGiven | ProfileTab::BoostsReceived)
}

/// One page of a tab: `limit + 1` rows from `?2`, so the caller knows whether more follow.
/// The limit is written in (see ARCHITECTURE: SQL that SQLite re-plans).
pub(crate) fn tab_page(tab: ProfileTab, limit: u32) -> String {
    let (source, order) = tab_source(tab);
    let (extra, extra_join) = if is_boost_tab(tab) {
        (
            format!(", {BOOST_COLUMNS}"),
            " JOIN users bu ON bu.id = b.user_id",
        )
    } else {
        (String::new(), "")
    };
    let source = source.replacen(" WHERE ", &format!(" {PLACE_JOINS}{extra_join} WHERE "), 1);
    format!(
        "SELECT {ITEM_COLUMNS}{extra} {source} ORDER BY {order} LIMIT {} OFFSET ?2",
        limit.max(1) + 1
    )
}

/// Every tab's count in one statement (`?1` the member). Activity is threads plus replies.
pub(crate) fn tab_counts() -> String {
    let count = |tab| format!("(SELECT COUNT(*) {})", tab_source(tab).0);
    format!(
        "SELECT {}, {}, {}, {}, {}",
        count(ProfileTab::Threads),
        count(ProfileTab::Replies),
        count(ProfileTab::Answers),
        count(ProfileTab::BoostsGiven),
        count(ProfileTab::BoostsReceived),
    )
}

fn read_brief(row: &Row, at: usize) -> Result<UserBrief, StoreError> {
    Ok(UserBrief {
        id: UserId(row.int(at)?),
        username: row.text(at + 1)?,
        display_name: row.text(at + 2)?,
        role: row.parse(at + 3)?,
        staff_title: row.opt_text(at + 4)?,
    })
}

fn read_item(row: &Row) -> Result<ProfileItemRow, StoreError> {
    let boost = if row.0.len() > ITEM_WIDTH {
        Some((
            read_brief(row, ITEM_WIDTH)?,
            Timestamp::from_micros(row.int(ITEM_WIDTH + 5)?),
        ))
    } else {
        None
    };
    Ok(ProfileItemRow {
        post_id: PostId(row.int(0)?),
        position: row.int(1)?,
        author: read_brief(row, 2)?,
        created_at: Timestamp::from_micros(row.int(7)?),
        boost_count: row.int(8)?,
        body_md: row.text(9)?,
        body_html: row.text(10)?,
        thread_id: ThreadId(row.int(11)?),
        thread_slug: row.text(12)?,
        thread_title: row.text(13)?,
        area_slug: row.text(14)?,
        subtopic_slug: row.text(15)?,
        subtopic_name: row.text(16)?,
        accepted: row.bool(17)?,
        boost,
    })
}

async fn items<C: Conn>(
    conn: &mut C,
    user: UserId,
    tab: ProfileTab,
    offset: u64,
    limit: u32,
) -> Result<(Vec<ProfileItemRow>, bool), StoreError> {
    let offset = i64::try_from(offset).unwrap_or(i64::MAX);
    let rows = conn
        .query(&tab_page(tab, limit), params![user.0, offset])
        .await?;
    let mut items = collect(rows, read_item)?;
    let more = items.len() > limit.max(1) as usize;
    items.truncate(limit.max(1) as usize);
    Ok((items, more))
}

async fn counts<C: Conn>(conn: &mut C, user: UserId) -> Result<ProfileCounts, StoreError> {
    let row = conn.query_one(&tab_counts(), params![user.0]).await?;
    let (threads, replies) = (row.int(0)?, row.int(1)?);
    Ok(ProfileCounts {
        activity: threads + replies,
        threads,
        replies,
        answers: row.int(2)?,
        boosts_given: row.int(3)?,
        boosts_received: row.int(4)?,
    })
}

/// The newest threads anywhere (`threads_by_time`), for the site-wide feed.
fn latest(dialect: crate::db::Dialect, limit: u32) -> String {
    let columns = sql::summary_columns(dialect);
    format!(
        "SELECT {columns} FROM (SELECT t.id FROM threads t WHERE t.removed_at IS NULL \
         ORDER BY t.created_at DESC, t.id DESC LIMIT {}) page JOIN threads t ON t.id = page.id \
         {} ORDER BY t.created_at DESC, t.id DESC",
        limit.max(1),
        sql::SUMMARY_JOINS
    )
}

impl Store {
    /// One page of a member's profile tab, newest first, and whether another page follows.
    pub async fn profile_items(
        &self,
        user: UserId,
        tab: ProfileTab,
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<ProfileItemRow>, bool), StoreError> {
        read!(self, lagging_client, |conn| items(
            conn, user, tab, offset, limit
        )
        .await)
    }

    /// How many items each of a member's profile tabs lists.
    pub async fn profile_counts(&self, user: UserId) -> Result<ProfileCounts, StoreError> {
        read!(self, lagging_client, |conn| counts(conn, user).await)
    }

    /// The `limit` newest threads anywhere, removed ones left out.
    pub async fn latest_threads(&self, limit: u32) -> Result<Vec<ThreadSummary>, StoreError> {
        read!(self, lagging_client, |conn| {
            let sql = latest(conn.dialect(), limit);
            collect(conn.query(&sql, &[]).await?, read_summary)
        })
    }
}
