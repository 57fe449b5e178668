//! SQL written once for every backend: numbered `?N` placeholders (PostgreSQL's backend turns
//! them into `$N`), TRUE/FALSE literals, BIGINT microsecond timestamps. Only statements whose
//! dialects differ are branched, and those live in the backend module.

use crate::db::Dialect;
use crate::model::{ListingFilter, ListingQuery, ListingScope, SortKey, SortOrder};

/// Columns of a [`crate::model::ThreadSummary`], read by `read_summary` in this order, the
/// thread's tags last (see [`summary_columns`]).
/// Expects `threads t`, `subtopics s`, `areas a` and `users u` in the FROM clause.
const SUMMARY_COLUMNS: &str = "t.id, t.slug, t.title, t.excerpt, t.kind, a.slug, s.slug, s.name, \
     u.id, u.username, u.display_name, u.role, u.staff_title, \
     t.created_at, t.last_activity_at, t.reply_count, t.boost_count, t.view_count, \
     t.pin_scope, t.locked_at IS NOT NULL, t.accepted_post_id IS NOT NULL, t.staff_answered";

pub const SUMMARY_JOINS: &str = "JOIN subtopics s ON s.id = t.subtopic_id \
     JOIN areas a ON a.id = s.area_id \
     JOIN users u ON u.id = t.author_id";

/// Number of summary columns, the tags included; the thread page's extra columns follow them.
pub const SUMMARY_WIDTH: usize = 23;

/// Separators inside the aggregated tags column: unit separator between a tag's slug and name,
/// record separator between tags (neither can appear in a slug or a tag name).
pub const TAG_FIELD_SEP: char = '\u{1f}';
pub const TAG_SEP: char = '\u{1e}';

/// The summary columns with the thread's tags aggregated into the last one, ordered by slug,
/// so a listing or a thread needs no second query for them. The aggregate is the one place the
/// dialects differ.
pub fn summary_columns(dialect: Dialect) -> String {
    let aggregate = match dialect {
        Dialect::Sqlite => "group_concat(g.slug || char(31) || g.name, char(30) ORDER BY g.slug)",
        Dialect::Postgres => "string_agg(g.slug || chr(31) || g.name, chr(30) ORDER BY g.slug)",
    };
    format!(
        "{SUMMARY_COLUMNS}, (SELECT {aggregate} FROM thread_tags tt JOIN tags g ON g.id = tt.tag_id \
         WHERE tt.thread_id = t.id)"
    )
}

pub const AREAS: &str = "SELECT id, slug, name, description, archived_at IS NOT NULL FROM areas \
     ORDER BY position, id";

/// Read by `queries::read_subtopic` in this order. On PostgreSQL the counters add the
/// subtopic's deltas not folded yet (`count_deltas`, see [`PG_FOLD_COUNTS`]), so a count shows
/// a new post at once; on SQLite writes update the row itself.
pub fn subtopic_columns(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => {
            "s.id, a.slug, a.name, s.slug, s.name, s.description, s.docs_url, \
             s.thread_count, s.post_count, s.last_activity_at, s.area_id, \
             s.archived_at IS NOT NULL OR a.archived_at IS NOT NULL, s.who_starts, s.tags_required"
        }
        Dialect::Postgres => {
            "s.id, a.slug, a.name, s.slug, s.name, s.description, s.docs_url, \
             s.thread_count + (SELECT COALESCE(SUM(d.threads), 0)::BIGINT FROM count_deltas d WHERE d.subtopic_id = s.id), \
             s.post_count + (SELECT COALESCE(SUM(d.posts), 0)::BIGINT FROM count_deltas d WHERE d.subtopic_id = s.id), \
             GREATEST(s.last_activity_at, (SELECT MAX(d.at) FROM count_deltas d WHERE d.subtopic_id = s.id)), \
             s.area_id, s.archived_at IS NOT NULL OR a.archived_at IS NOT NULL, s.who_starts, s.tags_required"
        }
    }
}

pub fn subtopics_all(dialect: Dialect) -> String {
    format!(
        "SELECT {} FROM subtopics s JOIN areas a ON a.id = s.area_id \
         ORDER BY a.position, s.position, s.id",
        subtopic_columns(dialect)
    )
}

pub fn subtopic_by_slugs(dialect: Dialect) -> String {
    format!(
        "SELECT {} FROM subtopics s JOIN areas a ON a.id = s.area_id \
         WHERE a.slug = ?1 AND s.slug = ?2",
        subtopic_columns(dialect)
    )
}

pub const TAG_BY_SLUG: &str =
    "SELECT id, slug, name, description, thread_count FROM tags WHERE slug = ?1";
pub const TAGS_ALL: &str =
    "SELECT id, slug, name, description, thread_count FROM tags ORDER BY slug";

/// A profile's account. The counters add the account's deltas not folded yet (always none
/// on SQLite; see [`PG_FOLD_COUNTS`]), so a profile shows a new post at once.
pub const USER_BY_KEY: &str = "SELECT id, username, display_name, role, staff_title, signature_html, \
     created_at, \
     thread_count + (SELECT CAST(COALESCE(SUM(d.threads), 0) AS BIGINT) FROM count_deltas d WHERE d.user_id = users.id), \
     post_count + (SELECT CAST(COALESCE(SUM(d.posts), 0) AS BIGINT) FROM count_deltas d WHERE d.user_id = users.id), \
     (SELECT a.token FROM uploads a WHERE a.id = users.avatar_upload AND a.removed_at IS NULL) \
     FROM users WHERE username_key = ?1";

pub fn pinned(dialect: Dialect) -> String {
    let columns = summary_columns(dialect);
    format!(
        "SELECT {columns} FROM threads t {SUMMARY_JOINS} \
         WHERE (t.pin_scope = 'global' OR (t.pin_scope = 'subtopic' AND t.subtopic_id = ?1)) \
         AND t.removed_at IS NULL \
         ORDER BY CASE WHEN t.pin_scope = 'global' THEN 0 ELSE 1 END, t.created_at DESC, t.id DESC"
    )
}

/// The thread row's extra columns, then where its accepted and recommended answers stand
/// (their positions, for links to the right page; primary-key lookups).
pub fn thread_by_id(dialect: Dialect) -> String {
    let columns = summary_columns(dialect);
    format!(
        "SELECT {columns}, t.subtopic_id, t.lock_reason, t.locked_at, t.accepted_post_id, \
         t.recommended_post_id, t.removed_at IS NOT NULL, t.last_position, \
         (SELECT ap.position FROM posts ap WHERE ap.id = t.accepted_post_id), \
         (SELECT rp.position FROM posts rp WHERE rp.id = t.recommended_post_id) \
         FROM threads t {SUMMARY_JOINS} WHERE t.id = ?1"
    )
}

/// A post with its author, and the post it answers (`q`, with its author `qu`) when it is a
/// reply to one: its place and name, for "In reply to @name" linking to the right page.
pub const POST_COLUMNS: &str = "p.id, p.thread_id, p.position, u.id, u.username, u.display_name, u.role, \
     u.staff_title, u.signature_html, p.body_html, p.created_at, p.edited_at, p.boost_count, \
     p.deleted_at IS NOT NULL, p.hidden_reason, p.hidden_at IS NOT NULL, \
     p.deleted_by IS NOT NULL AND p.deleted_by <> p.author_id, \
     p.reply_count, q.id, q.position, qu.username, \
     (SELECT a.token FROM uploads a WHERE a.id = u.avatar_upload AND a.removed_at IS NULL)";

/// The joins [`POST_COLUMNS`] reads from.
const POST_JOINS: &str = "JOIN users u ON u.id = p.author_id \
     LEFT JOIN posts q ON q.id = p.reply_to LEFT JOIN users qu ON qu.id = q.author_id";

/// Posts `position` in [?2, ?3): a range on the (thread_id, position) key, flat at any page.
pub fn posts_range() -> String {
    format!(
        "SELECT {POST_COLUMNS} FROM posts p {POST_JOINS} \
         WHERE p.thread_id = ?1 AND p.position >= ?2 AND p.position < ?3 ORDER BY p.position"
    )
}

pub fn post_by_id() -> String {
    format!("SELECT {POST_COLUMNS} FROM posts p {POST_JOINS} WHERE p.id = ?1")
}

pub const REVISIONS: &str = "SELECT r.revision, u.id, u.username, u.display_name, u.role, u.staff_title, \
     r.created_at, r.reason, r.body_md FROM post_revisions r JOIN users u ON u.id = r.author_id \
     WHERE r.post_id = ?1 ORDER BY r.revision";

pub const ADD_VIEWS: &str = "UPDATE threads SET view_count = view_count + ?2 WHERE id = ?1";

pub const CHANGE_HEAD: &str = "SELECT COALESCE(MAX(seq), 0) FROM change_log";

pub const APPEND_CHANGE: &str =
    "INSERT INTO change_log (at, kind, actor_id, thread_id, post_id) VALUES (?1, ?2, ?3, ?4, ?5)";
/// PostgreSQL: a write's entry waits in `change_pending` until [`PG_SETTLE_CHANGES`] gives it
/// its place in the log; no lock is held through the write's commit.
pub const APPEND_PENDING_CHANGE: &str = "INSERT INTO change_pending (at, kind, actor_id, thread_id, post_id) \
     VALUES (?1, ?2, ?3, ?4, ?5)";
/// What a new thread or reply adds to its subtopic's and author's counters. PostgreSQL: a
/// row that [`PG_FOLD_COUNTS`] adds later, so writes in one subtopic or by one member do not
/// queue on one row through their commits.
pub const ADD_COUNT_DELTA: &str = "INSERT INTO count_deltas (subtopic_id, user_id, posts, threads, at) \
     VALUES (?1, ?2, ?3, ?4, ?5)";

/// Recomputes every stored counter from the rows: used after a bulk import. Removed threads
/// count nowhere (imports have none, but the invariant is the write paths').
/// A subtopic's counters from its threads (`recount_subtopics` adds its WHERE). A counter's
/// deltas not folded yet were committed with the rows counted here, and are added when folded:
/// the recount leaves them out (`count_deltas` is always empty on SQLite). Callers hold the
/// change lock on PostgreSQL (`queries::hold_folds`), so no fold runs between.
macro_rules! recount_subtopics {
    () => {
        "UPDATE subtopics SET \
           thread_count = (SELECT COUNT(*) FROM threads t WHERE t.subtopic_id = subtopics.id AND t.removed_at IS NULL) \
             - (SELECT COALESCE(SUM(d.threads), 0) FROM count_deltas d WHERE d.subtopic_id = subtopics.id), \
           post_count = (SELECT COALESCE(SUM(t.reply_count + 1), 0) FROM threads t WHERE t.subtopic_id = subtopics.id AND t.removed_at IS NULL) \
             - (SELECT COALESCE(SUM(d.posts), 0) FROM count_deltas d WHERE d.subtopic_id = subtopics.id), \
           last_activity_at = (SELECT MAX(t.last_activity_at) FROM threads t WHERE t.subtopic_id = subtopics.id)"
    };
}
/// An account's counters from its threads and posts, as [`recount_subtopics!`] (callers add
/// the WHERE).
macro_rules! recount_users {
    () => {
        "UPDATE users SET \
           thread_count = (SELECT COUNT(*) FROM threads t WHERE t.author_id = users.id) \
             - (SELECT COALESCE(SUM(d.threads), 0) FROM count_deltas d WHERE d.user_id = users.id), \
           post_count = (SELECT COUNT(*) FROM posts p WHERE p.author_id = users.id) \
             - (SELECT COALESCE(SUM(d.posts), 0) FROM count_deltas d WHERE d.user_id = users.id)"
    };
}
pub const RECOUNT_SUBTOPIC: &str = concat!(recount_subtopics!(), " WHERE id = ?1");
pub const RECOUNT_USER: &str = concat!(recount_users!(), " WHERE id = ?1");

/// Recomputes every stored counter from the rows: used after a bulk import. Removed threads
/// count nowhere (imports have none, but the invariant is the write paths').
pub const RECOUNT: &[&str] = &[
    recount_subtopics!(),
    "UPDATE tags SET thread_count = (SELECT COUNT(*) FROM thread_tags tt WHERE tt.tag_id = tags.id AND tt.visible = TRUE)",
    "UPDATE threads SET last_position = (SELECT COALESCE(MAX(p.position), 0) FROM posts p WHERE p.thread_id = threads.id)",
    recount_users!(),
    // Only posts that are answered or were: every other post's count is 0 already.
    "UPDATE posts SET reply_count = (SELECT COUNT(*) FROM posts r WHERE r.reply_to = posts.id \
       AND r.deleted_at IS NULL AND r.hidden_at IS NULL) \
     WHERE reply_count <> 0 OR id IN (SELECT reply_to FROM posts WHERE reply_to IS NOT NULL)",
];

fn sort_column(sort: SortKey) -> &'static str {
    match sort {
        SortKey::Activity => "last_activity_at",
        SortKey::Newest => "created_at",
        SortKey::Boosts => "boost_count",
        SortKey::Views => "view_count",
        SortKey::Replies => "reply_count",
    }
}

fn filter_clause(filter: ListingFilter) -> &'static str {
    match filter {
        ListingFilter::All => "",
        // Pinned threads (notices) and locked ones (nobody can answer) wait for no answer.
        ListingFilter::Unanswered => {
            " AND t.reply_count = 0 AND t.pin_scope IS NULL AND t.locked_at IS NULL"
        }
        ListingFilter::Solved => " AND t.accepted_post_id IS NOT NULL",
        ListingFilter::StaffAnswered => " AND t.staff_answered = TRUE",
    }
}

/// The listing query: ids of one page are chosen on an index first (`?1` scope id, `?2`
/// offset), then only those rows are joined for display. The limit is written into the SQL,
/// not bound: SQLite plans with a bound LIMIT's value and so re-prepares such a statement at
/// every execution (measured: a third of an uncached listing's time).
/// The ids of a listing's threads in its order: one page of them (`LIMIT`, `OFFSET ?2`), or
/// with `whole` every one (no `?2`).
fn listing_ids(q: &ListingQuery, whole: bool) -> String {
    let dir = match q.order {
        SortOrder::Desc => "DESC",
        SortOrder::Asc => "ASC",
    };
    let col = sort_column(q.sort);
    let filter = filter_clause(q.filter);
    let pins = if q.pins_apart() {
        " AND t.pin_scope IS NULL"
    } else {
        ""
    };
    let paging = if whole {
        String::new()
    } else {
        format!(" LIMIT {} OFFSET ?2", q.per_page.max(1) + 1)
    };
    match q.scope {
        ListingScope::Subtopic(_) => format!(
            "SELECT t.id FROM threads t WHERE t.subtopic_id = ?1{pins} AND t.removed_at IS NULL{filter} \
             ORDER BY t.{col} {dir}, t.id {dir}{paging}"
        ),
        ListingScope::Author(_) => format!(
            "SELECT t.id FROM threads t WHERE t.author_id = ?1 AND t.removed_at IS NULL{filter} \
             ORDER BY t.{col} {dir}, t.id {dir}{paging}"
        ),
        // thread_tags keeps these two orders beside each tag (indexed), so a tag's listing by
        // activity and its feeds (newest first) never read the threads they do not show.
        ListingScope::Tag(_)
            if matches!(q.sort, SortKey::Activity | SortKey::Newest)
                && q.filter == ListingFilter::All =>
        {
            format!(
                "SELECT tt.thread_id AS id FROM thread_tags tt WHERE tt.tag_id = ?1 AND tt.visible = TRUE \
             ORDER BY tt.{col} {dir}, tt.thread_id {dir}{paging}"
            )
        }
        ListingScope::Tag(_) => format!(
            "SELECT t.id FROM thread_tags tt JOIN threads t ON t.id = tt.thread_id \
             WHERE tt.tag_id = ?1 AND tt.visible = TRUE AND t.removed_at IS NULL{filter} ORDER BY t.{col} {dir}, t.id {dir}{paging}"
        ),
    }
}

pub fn listing(q: &ListingQuery, dialect: Dialect) -> String {
    let columns = summary_columns(dialect);
    let (col, dir) = (sort_column(q.sort), sort_dir(q.order));
    let inner = listing_ids(q, false);
    format!(
        "SELECT {columns} FROM ({inner}) page JOIN threads t ON t.id = page.id {SUMMARY_JOINS} \
         ORDER BY t.{col} {dir}, t.id {dir}"
    )
}

/// Every thread id of a listing, in its order (what deep pages are cut from).
pub fn listing_all_ids(q: &ListingQuery) -> String {
    listing_ids(q, true)
}

/// How many ids [`listing_by_ids`] takes: a page and one more (which says whether another page
/// follows). Unused places are bound to 0, which is no thread's id.
pub const LISTING_IDS: usize = 64;

/// The summaries of up to [`LISTING_IDS`] threads (`?1`..), in the listing's order.
pub fn listing_by_ids(q: &ListingQuery, dialect: Dialect) -> String {
    let columns = summary_columns(dialect);
    let (col, dir) = (sort_column(q.sort), sort_dir(q.order));
    let places = (1..=LISTING_IDS)
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "SELECT {columns} FROM threads t {SUMMARY_JOINS} WHERE t.id IN ({places}) \
         ORDER BY t.{col} {dir}, t.id {dir}"
    )
}

fn sort_dir(order: SortOrder) -> &'static str {
    match order {
        SortOrder::Desc => "DESC",
        SortOrder::Asc => "ASC",
    }
}

// ---- archive export: everything, in the archive's fixed order ----

pub const EXPORT_AREAS: &str =
    "SELECT id, slug, name, description, archived_at FROM areas ORDER BY position, id";
pub const EXPORT_SUBTOPICS: &str = "SELECT area_id, slug, name, description, docs_url, id, archived_at, \
     who_starts, tags_required FROM subtopics ORDER BY area_id, position, id";
pub const EXPORT_ALLOWED_TAGS: &str = "SELECT st.subtopic_id, t.slug FROM subtopic_tags st \
     JOIN tags t ON t.id = st.tag_id ORDER BY st.subtopic_id, t.slug";
pub const EXPORT_TAGS: &str = "SELECT slug, name, description FROM tags ORDER BY slug";
pub const EXPORT_USERS: &str = "SELECT u.username, u.display_name, u.role, u.staff_title, u.signature_md, \
     u.created_at, u.email, u.email_verified_at, u.password_hash, u.suspended_until, \
     u.suspend_reason, av.token FROM users u LEFT JOIN uploads av ON av.id = u.avatar_upload \
     ORDER BY u.username_key";
pub const EXPORT_THREADS: &str = "SELECT t.id, a.slug, s.slug, t.title, t.kind, t.pin_scope, t.locked_at, \
     lu.username, t.lock_reason, t.view_count, t.accepted_post_id, t.recommended_post_id \
     FROM threads t JOIN subtopics s ON s.id = t.subtopic_id JOIN areas a ON a.id = s.area_id \
     LEFT JOIN users lu ON lu.id = t.locked_by ORDER BY t.id";
pub const EXPORT_THREAD_TAGS: &str = "SELECT tt.thread_id, g.slug FROM thread_tags tt \
     JOIN tags g ON g.id = tt.tag_id ORDER BY tt.thread_id, g.slug";
pub const EXPORT_POSTS: &str = "SELECT p.id, p.thread_id, u.username, p.created_at, p.body_md, \
     p.deleted_at, du.username, p.hidden_at, hu.username, p.hidden_reason, p.reply_to \
     FROM posts p JOIN users u ON u.id = p.author_id LEFT JOIN users du ON du.id = p.deleted_by \
     LEFT JOIN users hu ON hu.id = p.hidden_by ORDER BY p.thread_id, p.position";
pub const EXPORT_FLAGS: &str = "SELECT f.post_id, u.username, f.reason, f.created_at, f.resolved_at, \
     ru.username, f.resolution FROM flags f JOIN users u ON u.id = f.user_id \
     LEFT JOIN users ru ON ru.id = f.resolved_by ORDER BY f.id";
pub const EXPORT_AUDIT: &str = "SELECT l.at, u.username, l.action, l.thread_id, l.post_id, tu.username, \
     l.details FROM audit_log l JOIN users u ON u.id = l.actor_id \
     LEFT JOIN users tu ON tu.id = l.target_user ORDER BY l.id";
pub const EXPORT_BOOSTS: &str = "SELECT b.post_id, u.username, b.created_at FROM boosts b \
     JOIN users u ON u.id = b.user_id ORDER BY b.post_id, b.created_at, u.username_key";
pub const EXPORT_REVISIONS: &str = "SELECT r.post_id, r.created_at, u.username, r.reason, r.body_md \
     FROM post_revisions r JOIN users u ON u.id = r.author_id ORDER BY r.post_id, r.revision";

// ---- archive import ----

pub const INSERT_AREA: &str =
    "INSERT INTO areas (slug, name, description, position) VALUES (?1, ?2, ?3, ?4) RETURNING id";
pub const INSERT_SUBTOPIC: &str = "INSERT INTO subtopics (area_id, slug, name, description, docs_url, position) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id";
pub const INSERT_TAG: &str =
    "INSERT INTO tags (slug, name, description) VALUES (?1, ?2, ?3) RETURNING id";
pub const INSERT_USER: &str = "INSERT INTO users (username, username_key, display_name, role, staff_title, \
     signature_md, signature_html, created_at, name_skeleton) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) RETURNING id";
pub const INSERT_THREAD: &str = "INSERT INTO threads (id, subtopic_id, slug, title, kind, author_id, excerpt, \
     created_at, last_activity_at, last_poster_id, pin_scope, locked_at, locked_by, lock_reason, \
     accepted_post_id, recommended_post_id, staff_answered, reply_count, boost_count, view_count) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)";
pub const INSERT_THREAD_TAG: &str = "INSERT INTO thread_tags (thread_id, tag_id, last_activity_at, created_at) VALUES (?1, ?2, ?3, ?4)";
pub const INSERT_POST: &str = "INSERT INTO posts (id, thread_id, position, author_id, body_md, body_html, \
     created_at, edited_at, boost_count, reply_to) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
pub const INSERT_REVISION: &str = "INSERT INTO post_revisions (post_id, revision, author_id, created_at, \
     reason, body_md) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
pub const INSERT_BOOST: &str =
    "INSERT INTO boosts (post_id, user_id, created_at) VALUES (?1, ?2, ?3)";
/// What a change touched (`queries::touched_with`), in one round trip: the post's author and
/// position (`?2`, may be NULL), the thread's subtopic and its tag ids, space-separated (`?1`).
/// Always one row; columns are NULL for what does not exist.
pub fn touch_facts(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => {
            "SELECT p.author_id, p.position, t.subtopic_id, \
             (SELECT group_concat(tt.tag_id, ' ') FROM thread_tags tt WHERE tt.thread_id = ?1) \
             FROM (SELECT 1) one LEFT JOIN posts p ON p.id = ?2 LEFT JOIN threads t ON t.id = ?1"
        }
        Dialect::Postgres => {
            "SELECT p.author_id, p.position, t.subtopic_id, \
             (SELECT string_agg(tt.tag_id::TEXT, ' ') FROM thread_tags tt WHERE tt.thread_id = ?1) \
             FROM (SELECT 1) one LEFT JOIN posts p ON p.id = ?2 LEFT JOIN threads t ON t.id = ?1"
        }
    }
}
pub const COUNT_CONTENT: &str = "SELECT (SELECT COUNT(*) FROM areas) + (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM threads)";

// ---- PostgreSQL only ----

/// Serialises whoever gives pending changes their place in the log ([`PG_SETTLE_CHANGES`])
/// and recounts, until commit: sequence numbers commit in order, and no fold runs during a
/// recount. Writers never take it.
pub const PG_CHANGE_LOCK: &str = "SELECT pg_advisory_xact_lock(7243001)";
/// Moves every committed pending change into the log, in the order they were written (under
/// [`PG_CHANGE_LOCK`]). Entries of writes still open stay for the next settle: they were not
/// visible yet, so no follower can have missed them.
pub const PG_SETTLE_CHANGES: &str = "WITH moved AS (DELETE FROM change_pending \
     RETURNING id, at, kind, actor_id, thread_id, post_id) \
     INSERT INTO change_log (at, kind, actor_id, thread_id, post_id) \
     SELECT at, kind, actor_id, thread_id, post_id FROM moved ORDER BY id";
/// A row when any change or count delta waits to be settled.
pub const CHANGES_PENDING: &str = "SELECT 1 WHERE EXISTS (SELECT 1 FROM change_pending) \
     OR EXISTS (SELECT 1 FROM count_deltas)";
/// Adds the committed count deltas to their subtopics and authors, in one statement (one
/// snapshot: every delta deleted is added once).
pub const PG_FOLD_COUNTS: &str = "WITH d AS (DELETE FROM count_deltas \
       RETURNING subtopic_id, user_id, posts, threads, at), \
     s AS (UPDATE subtopics SET post_count = subtopics.post_count + x.posts, \
         thread_count = subtopics.thread_count + x.threads, \
         last_activity_at = GREATEST(subtopics.last_activity_at, x.at) \
       FROM (SELECT subtopic_id, SUM(posts) AS posts, SUM(threads) AS threads, MAX(at) AS at \
             FROM d WHERE subtopic_id IS NOT NULL GROUP BY subtopic_id) x \
       WHERE subtopics.id = x.subtopic_id RETURNING 1) \
     UPDATE users SET post_count = users.post_count + y.posts, \
       thread_count = users.thread_count + y.threads \
     FROM (SELECT user_id, SUM(posts) AS posts, SUM(threads) AS threads \
           FROM d WHERE user_id IS NOT NULL GROUP BY user_id) y \
     WHERE users.id = y.user_id";
/// Serialises imports (and so demo loading) until commit.
pub const PG_IMPORT_LOCK: &str = "SELECT pg_advisory_xact_lock(7243002)";
/// Tells every node's listener, on commit, that the change log grew and what the write
/// touched (`Touched::encode`).
pub const PG_NOTIFY_CHANGE: &str = "SELECT pg_notify('agora_changes', ?1)";
/// The channel [`PG_NOTIFY_CHANGE`] speaks on.
pub const PG_CHANNEL: &str = "agora_changes";
/// After rows were written with explicit ids, move each id generator past them.
pub const PG_RESYNC_IDS: &[&str] = &[
    "SELECT setval(pg_get_serial_sequence('areas', 'id'), COALESCE((SELECT MAX(id) FROM areas), 0) + 1, false)",
    "SELECT setval(pg_get_serial_sequence('subtopics', 'id'), COALESCE((SELECT MAX(id) FROM subtopics), 0) + 1, false)",
    "SELECT setval(pg_get_serial_sequence('tags', 'id'), COALESCE((SELECT MAX(id) FROM tags), 0) + 1, false)",
    "SELECT setval(pg_get_serial_sequence('users', 'id'), COALESCE((SELECT MAX(id) FROM users), 0) + 1, false)",
    "SELECT setval(pg_get_serial_sequence('threads', 'id'), COALESCE((SELECT MAX(id) FROM threads), 0) + 1, false)",
    "SELECT setval(pg_get_serial_sequence('posts', 'id'), COALESCE((SELECT MAX(id) FROM posts), 0) + 1, false)",
];

// ---- jobs ----

pub const ENQUEUE_JOB: &str =
    "INSERT INTO jobs (kind, payload, run_after) VALUES (?1, ?2, ?3) RETURNING id";
/// `?1` worker, `?2` now, `?3` lease expiry cut-off; the dialect decides the row lock.
/// Claims the next due job of one of `kinds` kinds (bound as ?4, ?5, …): a node never claims
/// a kind it cannot run, so a newer node's jobs wait for a newer node without a lease in the
/// way.
pub fn claim_job(skip_locked: bool, kinds: usize) -> String {
    let lock = if skip_locked {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let kinds = (0..kinds.max(1))
        .map(|i| format!("?{}", i + 4))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "UPDATE jobs SET claimed_by = ?1, claimed_at = ?2, attempts = attempts + 1 WHERE id = \
         (SELECT id FROM jobs WHERE done_at IS NULL AND failed_at IS NULL AND run_after <= ?2 \
          AND (claimed_at IS NULL OR claimed_at < ?3) AND kind IN ({kinds}) \
          ORDER BY run_after, id LIMIT 1{lock}) \
         RETURNING id, kind, payload, attempts"
    )
}
/// A finished job forgets its payload: an email's payload carries a one-time link, which must
/// not outlive its sending in the database (or its backups).
pub const FINISH_JOB: &str =
    "UPDATE jobs SET done_at = ?2, payload = '' WHERE id = ?1 AND claimed_by = ?3";
/// A failed attempt: let go of the job and try again at `?2`, saying why (`?4`).
pub const RESCHEDULE_JOB: &str = "UPDATE jobs SET run_after = ?2, claimed_by = NULL, \
     claimed_at = NULL, last_error = ?4 WHERE id = ?1 AND claimed_by = ?3 AND done_at IS NULL";
/// The last attempt failed (or the job can never succeed): dead, never claimed again. The
/// payload stays, so staff can retry it.
pub const KILL_JOB: &str = "UPDATE jobs SET failed_at = ?2, claimed_by = NULL, \
     claimed_at = NULL, last_error = ?4 WHERE id = ?1 AND claimed_by = ?3 AND done_at IS NULL";
/// Staff retry a dead job: due now, with its attempts counted afresh.
pub const REVIVE_JOB: &str = "UPDATE jobs SET failed_at = NULL, attempts = 0, run_after = ?2, \
     last_error = NULL WHERE id = ?1 AND failed_at IS NOT NULL AND done_at IS NULL";
pub const DEAD_JOB_KIND: &str =
    "SELECT kind FROM jobs WHERE id = ?1 AND failed_at IS NOT NULL AND done_at IS NULL";
/// The newest 50 dead jobs (a limit written into the SQL: SQLite re-plans a bound one).
pub const DEAD_JOBS: &str = "SELECT id, kind, attempts, last_error, failed_at FROM jobs \
     WHERE failed_at IS NOT NULL AND done_at IS NULL ORDER BY failed_at DESC, id DESC LIMIT 50";
/// How many jobs are dead, and how many live ones failed before and wait to be tried again.
pub const JOB_HEALTH: &str = "SELECT \
     (SELECT COUNT(*) FROM jobs WHERE failed_at IS NOT NULL AND done_at IS NULL), \
     (SELECT COUNT(*) FROM jobs WHERE failed_at IS NULL AND done_at IS NULL \
      AND last_error IS NOT NULL)";

// ---- moderation ----

pub const LOCK_THREAD: &str =
    "UPDATE threads SET locked_at = ?2, locked_by = ?3, lock_reason = ?4 WHERE id = ?1";
pub const UNLOCK_THREAD: &str =
    "UPDATE threads SET locked_at = NULL, locked_by = NULL, lock_reason = NULL WHERE id = ?1";
pub const USER_ID_BY_KEY: &str = "SELECT id FROM users WHERE username_key = ?1";

// ---- the review queue and the audit log (keyset pages) ----

/// Open flags with what the review queue shows of each (the post's first 300 characters, not
/// its whole source), oldest first by `(created_at, id)`: the partial index `flags_open`
/// holds exactly these rows in that order (SQLite's index entries end with the rowid; on
/// PostgreSQL ties on `created_at` are re-sorted within the index order). Callers add the
/// keyset condition, the order and the limit.
pub const OPEN_FLAGS: &str = "SELECT f.id, p.id, t.id, t.slug, t.title, pu.username, \
     substr(p.body_md, 1, 300), fu.username, f.reason, f.created_at, p.position FROM flags f \
     JOIN posts p ON p.id = f.post_id JOIN threads t ON t.id = p.thread_id \
     JOIN users pu ON pu.id = p.author_id JOIN users fu ON fu.id = f.user_id \
     WHERE f.resolved_at IS NULL";
/// The keyset a flag sorts by (open or resolved: a cursor may name a flag resolved since).
pub const FLAG_KEY: &str = "SELECT created_at FROM flags WHERE id = ?1";
/// Whether an open flag sorts at or before `(?1, ?2)`.
pub const OPEN_FLAG_AT_OR_BEFORE: &str = "SELECT 1 FROM flags WHERE resolved_at IS NULL \
     AND (created_at, id) <= (?1, ?2) LIMIT 1";
/// Whether an open flag sorts at or after `(?1, ?2)`.
pub const OPEN_FLAG_AT_OR_AFTER: &str = "SELECT 1 FROM flags WHERE resolved_at IS NULL \
     AND (created_at, id) >= (?1, ?2) LIMIT 1";
/// How many flags are open: one count over the partial index, for the header's badge.
pub const OPEN_FLAG_COUNT: &str = "SELECT COUNT(*) FROM flags WHERE resolved_at IS NULL";

/// Audit entries with their actor, newest first by id. Callers add the keyset condition
/// (`WHERE`), the order and the limit.
pub const AUDIT_ENTRIES: &str = "SELECT l.id, l.at, u.id, u.username, u.display_name, u.role, \
     u.staff_title, l.action, l.thread_id, l.post_id, tu.username, l.details FROM audit_log l \
     JOIN users u ON u.id = l.actor_id LEFT JOIN users tu ON tu.id = l.target_user";
pub const AUDIT_AT_OR_AFTER: &str = "SELECT 1 FROM audit_log WHERE id >= ?1 LIMIT 1";
pub const AUDIT_AT_OR_BEFORE: &str = "SELECT 1 FROM audit_log WHERE id <= ?1 LIMIT 1";
