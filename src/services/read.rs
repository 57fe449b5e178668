//! The read side: turns request parameters into store queries and store rows into the views
//! that both the HTML pages and the JSON API render.

use agora_store::{
    Cursor, ListingFilter, ListingPage, ListingQuery, ListingScope, PostId, PostRow, ProfileTab,
    Scope, SortKey, SortOrder, ThreadId, ThreadRow, ThreadSummary, Timestamp,
};
use serde::Deserialize;
use similar::{ChangeTag, TextDiff};

use crate::app::AppState;
use crate::error::AppError;
use crate::http_cache::depends_on;
use crate::paths;
use crate::services::structure;
use crate::views::*;

pub const THREADS_PER_PAGE: u32 = 30;
pub const POSTS_PER_PAGE: u32 = 50;
/// Pages beyond this are refused rather than scanned.
pub const MAX_PAGE: u32 = 100_000;

/// Listing query parameters as they arrive; parsed by [`ListingParams::parse`] so a bad value
/// is answered with the parameter's name and what it accepts.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
/// (Each field's OpenAPI schema, description included, comes from its `schema_with`.)
pub struct RawListingParams {
    #[param(schema_with = crate::views::schema::sort_by_param)]
    pub sort_by: Option<String>,
    #[param(schema_with = crate::views::schema::sort_order_param)]
    pub sort_order: Option<String>,
    #[param(schema_with = crate::views::schema::filter_param)]
    pub filter: Option<String>,
    #[param(schema_with = page_schema)]
    pub page: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RawPageParam {
    #[param(schema_with = page_schema)]
    pub page: Option<String>,
}

/// `?before=ID` or `?after=ID`: a page of a list kept in time order (the review queue, the
/// audit log), just older or just newer than the entry with that id. Parsed by
/// [`parse_cursor`], so a bad value is answered with the parameter's name.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RawCursorParams {
    /// The entries just older than the one with this id.
    #[param(value_type = Option<i64>, minimum = 1)]
    pub before: Option<String>,
    /// The entries just newer than the one with this id.
    #[param(value_type = Option<i64>, minimum = 1)]
    pub after: Option<String>,
}

fn parse_id(param: &str, value: &str) -> Result<i64, AppError> {
    value
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| AppError::bad_param(param, format!("{value:?} is not an id")))
}

/// The page a [`RawCursorParams`] asks for: the start, or before or after an entry.
pub fn parse_cursor(raw: &RawCursorParams) -> Result<Cursor, AppError> {
    fn given(value: &Option<String>) -> Option<&str> {
        value.as_deref().filter(|v| !v.trim().is_empty())
    }
    match (given(&raw.before), given(&raw.after)) {
        (None, None) => Ok(Cursor::Start),
        (Some(before), None) => Ok(Cursor::Before(parse_id("before", before)?)),
        (None, Some(after)) => Ok(Cursor::After(parse_id("after", after)?)),
        (Some(_), Some(_)) => Err(AppError::bad_param(
            "after",
            "Give before or after, not both.",
        )),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListingParams {
    pub sort: SortKey,
    pub order: SortOrder,
    pub filter: ListingFilter,
    pub page: u32,
}

/// A parameter is taken as sent, as the API's contract states it: absent means the default;
/// anything else, an empty value included, must be one of the spellings.
fn parse_enum<T: std::str::FromStr<Err = String>>(
    param: &str,
    value: &Option<String>,
    default: T,
) -> Result<T, AppError> {
    match value.as_deref() {
        None => Ok(default),
        Some(text) => text
            .parse()
            .map_err(|e: String| AppError::bad_param(param, e)),
    }
}

/// `page` as the OpenAPI document states it: an integer from 1 to `max`.
pub fn page_schema_to(max: u32) -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .description(Some(format!("1-based page number, at most {max}.")))
        .minimum(Some(1))
        .maximum(Some(max))
        .default(Some(1.into()))
        .build()
}

/// A listing's or a thread's `page`: 1 to [`MAX_PAGE`].
pub fn page_schema() -> utoipa::openapi::Object {
    page_schema_to(MAX_PAGE)
}

/// `page`: absent means 1; otherwise decimal digits (no sign, no spaces) from 1 to
/// [`MAX_PAGE`].
pub fn parse_page(value: &Option<String>) -> Result<u32, AppError> {
    let Some(text) = value.as_deref() else {
        return Ok(1);
    };
    let number = text
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| text.parse::<u32>().ok())
        .flatten();
    match number {
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        _ => Err(AppError::bad_param(
            "page",
            format!("{text:?} is not a page number; pages are numbered from 1 to {MAX_PAGE}"),
        )),
    }
}

impl ListingParams {
    pub fn parse(raw: &RawListingParams) -> Result<Self, AppError> {
        Ok(Self {
            sort: parse_enum("sortBy", &raw.sort_by, SortKey::Activity)?,
            order: parse_enum("sortOrder", &raw.sort_order, SortOrder::Desc)?,
            filter: parse_enum("filter", &raw.filter, ListingFilter::All)?,
            page: parse_page(&raw.page)?,
        })
    }

    /// The query string for these parameters, leaving out defaults.
    fn query_string(&self) -> String {
        let mut parts = Vec::new();
        if self.sort != SortKey::Activity {
            parts.push(format!("sortBy={}", self.sort));
        }
        if self.order != SortOrder::Desc {
            parts.push(format!("sortOrder={}", self.order));
        }
        if self.filter != ListingFilter::All {
            parts.push(format!("filter={}", self.filter));
        }
        if self.page > 1 {
            parts.push(format!("page={}", self.page));
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!("?{}", parts.join("&"))
        }
    }
}

/// Where "Ask a question" leads from a listing, and what it says.
type AskLink = Option<(String, &'static str)>;

/// How the two orders read for a sort.
fn order_labels(sort: SortKey) -> (&'static str, &'static str) {
    match sort {
        SortKey::Activity => ("Recently active first", "Least recently active first"),
        SortKey::Newest => ("Newest first", "Oldest first"),
        SortKey::Boosts => ("Most boosted first", "Least boosted first"),
        SortKey::Views => ("Most viewed first", "Least viewed first"),
        SortKey::Replies => ("Most replies first", "Fewest replies first"),
    }
}

fn listing_view(
    base: &str,
    params: ListingParams,
    pinned: &[ThreadSummary],
    page: &ListingPage,
    total: Option<i64>,
    now: Timestamp,
    ask: AskLink,
) -> ListingView {
    let url = |p: ListingParams| format!("{base}{}", p.query_string());
    let total_pages = total.map(|t| (t.max(1) as u64).div_ceil(u64::from(THREADS_PER_PAGE)) as u32);
    let prev_url = (params.page > 1).then(|| {
        url(ListingParams {
            page: params.page - 1,
            ..params
        })
    });
    let next_url = page.has_more.then(|| {
        url(ListingParams {
            page: params.page + 1,
            ..params
        })
    });
    let sort_links = [
        ("Latest activity", SortKey::Activity),
        ("Newest", SortKey::Newest),
        ("Most boosted", SortKey::Boosts),
        ("Most viewed", SortKey::Views),
        ("Most replies", SortKey::Replies),
    ]
    .into_iter()
    .map(|(label, sort)| SortLink {
        label,
        url: url(ListingParams {
            sort,
            order: SortOrder::Desc,
            page: 1,
            ..params
        }),
        current: params.sort == sort,
    })
    .collect();
    let filter_links = [
        ("All", ListingFilter::All),
        ("Unanswered", ListingFilter::Unanswered),
        ("Solved", ListingFilter::Solved),
        ("Staff answered", ListingFilter::StaffAnswered),
    ]
    .into_iter()
    .map(|(label, filter)| SortLink {
        label,
        url: url(ListingParams {
            filter,
            page: 1,
            ..params
        }),
        current: params.filter == filter,
    })
    .collect();
    let (desc, asc) = order_labels(params.sort);
    let order_links = [(desc, SortOrder::Desc), (asc, SortOrder::Asc)]
        .into_iter()
        .map(|(label, order)| SortLink {
            label,
            url: url(ListingParams {
                order,
                page: 1,
                ..params
            }),
            current: params.order == order,
        })
        .collect();
    let clear_filter_url = (params.filter != ListingFilter::All).then(|| {
        url(ListingParams {
            filter: ListingFilter::All,
            page: 1,
            ..params
        })
    });
    let (ask_url, ask_label) = match ask {
        Some((url, label)) => (Some(url), label),
        None => (None, ""),
    };
    ListingView {
        pinned: pinned
            .iter()
            .map(|t| ThreadSummaryView::new(t, now))
            .collect(),
        threads: page
            .threads
            .iter()
            .map(|t| ThreadSummaryView::new(t, now))
            .collect(),
        state: ListingStateView {
            sort_by: params.sort,
            sort_order: params.order,
            filter: params.filter,
            page: params.page,
            total_pages,
            has_more: page.has_more,
            prev_url,
            next_url,
            sort_links,
            order_links,
            filter_links,
            clear_filter_url,
            ask_url,
            ask_label,
        },
    }
}

/// A page past the end of a listing is a 404 that says how many pages there are.
fn check_page_exists(
    params: &ListingParams,
    page: &ListingPage,
    pinned: &[ThreadSummary],
) -> Result<(), AppError> {
    if params.page > 1 && page.threads.is_empty() && pinned.is_empty() {
        return Err(AppError::not_found(format!(
            "This listing has no page {}. Go back to the first page.",
            params.page
        )));
    }
    Ok(())
}

fn query(scope: ListingScope, params: ListingParams) -> ListingQuery {
    ListingQuery {
        scope,
        sort: params.sort,
        order: params.order,
        filter: params.filter,
        page: params.page,
        per_page: THREADS_PER_PAGE,
    }
}

pub async fn home(state: &AppState) -> Result<HomeView, AppError> {
    depends_on(state, [Scope::Front]);
    let now = format::now();
    let mut areas = state.store.areas().await?;
    // Archived areas and subtopics are left off the home page (their pages stay, read-only).
    areas.retain(|a| !a.archived);
    for area in &mut areas {
        area.subtopics.retain(|s| !s.archived);
    }
    let no_threads = !areas.is_empty()
        && areas
            .iter()
            .flat_map(|a| &a.subtopics)
            .all(|s| s.thread_count == 0);
    Ok(HomeView {
        areas: areas.iter().map(|a| AreaView::new(a, now)).collect(),
        no_threads,
    })
}

pub async fn subtopic_page(
    state: &AppState,
    area: &str,
    subtopic: &str,
    params: ListingParams,
) -> Result<SubtopicPageView, AppError> {
    let Some(sub) = state.store.subtopic(area, subtopic).await? else {
        return Err(
            match structure::moved_subtopic(state, area, subtopic).await? {
                Some((area, sub)) => AppError::MovedTo {
                    location: paths::subtopic(&area, &sub),
                },
                None => AppError::not_found(format!("There is no subtopic “{area}/{subtopic}”.")),
            },
        );
    };
    depends_on(state, [Scope::Subtopic(sub.id)]);
    let listing_query = query(ListingScope::Subtopic(sub.id), params);
    let (mut pinned, page) = match state
        .listing_orders
        .page(&state.store, listing_query)
        .await?
    {
        Some(page) if listing_query.pins_apart() => (state.store.pinned(sub.id).await?, page),
        Some(page) => (Vec::new(), page),
        None => state.store.listing(listing_query).await?,
    };
    // Pinned threads lead page 1 and are left out of the pages' count.
    let own_pins = pinned
        .iter()
        .filter(|t| t.area_slug == sub.area_slug && t.subtopic_slug == sub.slug)
        .count() as i64;
    if params.page > 1 {
        pinned.clear();
    }
    check_page_exists(&params, &page, &pinned)?;
    let now = format::now();
    let listed = sub.thread_count
        - if listing_query.pins_apart() {
            own_pins
        } else {
            0
        };
    let total = (params.filter == ListingFilter::All).then_some(listed);
    let view = SubtopicView::new(&sub, now);
    // Archived subtopics are read-only; where only staff start threads, the button says so.
    let ask = (!view.archived).then(|| {
        (
            paths::compose(Some((view.area.as_str(), view.slug.as_str())), None),
            if view.staff_only {
                "Post an announcement"
            } else {
                "Ask a question"
            },
        )
    });
    let listing = listing_view(&view.url, params, &pinned, &page, total, now, ask);
    Ok(SubtopicPageView {
        subtopic: view,
        listing,
    })
}

pub async fn tag_page(
    state: &AppState,
    slug: &str,
    params: ListingParams,
) -> Result<TagPageView, AppError> {
    let Some(tag) = state.store.tag(slug).await? else {
        return Err(match structure::moved_tag(state, slug).await? {
            Some(slug) => AppError::MovedTo {
                location: paths::tag(&slug),
            },
            None => AppError::not_found(format!("There is no tag “{slug}”.")),
        });
    };
    depends_on(state, [Scope::Tag(tag.id)]);
    let listing_query = query(ListingScope::Tag(tag.id), params);
    let (pinned, page) = match state
        .listing_orders
        .page(&state.store, listing_query)
        .await?
    {
        Some(page) => (Vec::new(), page),
        None => state.store.listing(listing_query).await?,
    };
    check_page_exists(&params, &page, &pinned)?;
    let now = format::now();
    let total = (params.filter == ListingFilter::All).then_some(tag.thread_count);
    let view = TagView::from(&tag);
    let ask = Some((
        paths::compose(None, Some(view.slug.as_str())),
        "Ask a question",
    ));
    let listing = listing_view(&view.url, params, &pinned, &page, total, now, ask);
    Ok(TagPageView { tag: view, listing })
}

/// Every subtopic as (`area/subtopic`, "Area › Subtopic"), in display order: the choices of
/// the compose form and the moderators' move control. Archived subtopics are left out, and
/// with `starter` (the compose form) those that account may not start threads in.
pub async fn subtopic_choices(
    state: &AppState,
    starter: Option<&agora_store::Account>,
) -> Result<Vec<(String, String)>, AppError> {
    let mut out = Vec::new();
    let now = agora_store::Timestamp::now();
    for area in state.store.areas().await? {
        for s in area.subtopics {
            let refused = match starter {
                Some(account) => !crate::services::permissions::allowed(
                    Some(account),
                    crate::services::posting::start_in(&s),
                    now,
                ),
                None => s.archived,
            };
            if refused {
                continue;
            }
            out.push((
                format!("{}/{}", s.area_slug, s.slug),
                format!("{} › {}", area.name, s.name),
            ));
        }
    }
    Ok(out)
}

/// The slugs of `ids`, space-separated, in the tags' order: a thread's tags as the edit form
/// shows them.
pub async fn tag_slugs(state: &AppState, ids: &[agora_store::TagId]) -> Result<String, AppError> {
    Ok(state
        .store
        .tags()
        .await?
        .into_iter()
        .filter(|t| ids.contains(&t.id))
        .map(|t| t.slug)
        .collect::<Vec<_>>()
        .join(" "))
}

/// A thread by id, removed ones included (the caller decides who may see those).
pub async fn thread_row(
    state: &AppState,
    id: agora_store::ThreadId,
) -> Result<agora_store::ThreadRow, AppError> {
    state
        .store
        .thread(id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("There is no thread {id}.")))
}

pub async fn tags(state: &AppState) -> Result<Vec<TagView>, AppError> {
    depends_on(state, [Scope::Front]);
    Ok(state
        .store
        .tags()
        .await?
        .iter()
        .map(TagView::from)
        .collect())
}

/// A profile's query string as it arrives.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RawProfileParams {
    #[param(schema_with = crate::views::schema::profile_tab_param)]
    pub tab: Option<String>,
    #[param(schema_with = page_schema)]
    pub page: Option<String>,
}

/// Which tab of a profile and which page of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProfileParams {
    pub tab: ProfileTab,
    pub page: u32,
}

impl ProfileParams {
    pub fn parse(raw: &RawProfileParams) -> Result<Self, AppError> {
        Ok(Self {
            tab: parse_enum("tab", &raw.tab, ProfileTab::Activity)?,
            page: parse_page(&raw.page)?,
        })
    }

    /// The first page of the newest posts: what a member's feed shows.
    pub fn feed() -> Self {
        Self {
            tab: ProfileTab::Activity,
            page: 1,
        }
    }
}

/// Items on a page of a profile tab.
pub const PROFILE_ITEMS_PER_PAGE: u32 = 30;

/// How a profile tab is named, what its count counts, and what it says when empty.
fn profile_tab_words(tab: ProfileTab) -> (&'static str, &'static str, &'static str) {
    match tab {
        ProfileTab::Activity => ("Activity", "post", "posts"),
        ProfileTab::Threads => ("Threads", "thread", "threads"),
        ProfileTab::Replies => ("Replies", "reply", "replies"),
        ProfileTab::Answers => ("Accepted answers", "answer", "answers"),
        ProfileTab::BoostsGiven => ("Boosts given", "boost", "boosts"),
        ProfileTab::BoostsReceived => ("Boosts received", "boost", "boosts"),
    }
}

fn profile_url(username: &str, tab: ProfileTab, page: u32) -> String {
    let base = paths::user(username);
    let mut parts = Vec::new();
    if tab != ProfileTab::Activity {
        parts.push(format!("tab={tab}"));
    }
    if page > 1 {
        parts.push(format!("page={page}"));
    }
    if parts.is_empty() {
        base
    } else {
        format!("{base}?{}", parts.join("&"))
    }
}

/// Where a post is, on its thread's pages.
pub fn post_url(thread: ThreadId, slug: &str, position: i64, post: PostId) -> String {
    paths::post(thread, slug, position, post, POSTS_PER_PAGE)
}

/// A member's profile with one page of one tab. Every tab lists only what any reader may see
/// (no deleted or hidden post, nothing in a removed thread), so the page is the same for all.
pub async fn user_page(
    state: &AppState,
    username: &str,
    params: ProfileParams,
) -> Result<UserPageView, AppError> {
    let user = state
        .store
        .user(username)
        .await?
        .ok_or_else(|| AppError::not_found(format!("There is no user “{username}”.")))?;
    let id = user.brief.id;
    depends_on(state, [Scope::User(id)]);
    let per = PROFILE_ITEMS_PER_PAGE;
    let offset = u64::from(params.page - 1) * u64::from(per);
    let (counts, (rows, has_more)) = tokio::try_join!(
        state.store.profile_counts(id),
        state.store.profile_items(id, params.tab, offset, per),
    )?;
    let total = counts.of(params.tab);
    let total_pages = (total.max(1) as u64).div_ceil(u64::from(per)) as u32;
    if params.page > 1 && rows.is_empty() {
        return Err(AppError::not_found(format!(
            "This tab has {total_pages} page{}; there is no page {}.",
            if total_pages == 1 { "" } else { "s" },
            params.page
        )));
    }
    let now = format::now();
    let name = &user.brief.username;
    let tabs = profile_tabs(name, &counts, Some(params.tab));
    let items = rows
        .iter()
        .map(|row| {
            let url = post_url(row.thread_id, &row.thread_slug, row.position, row.post_id);
            ProfileItemView::new(row, url, now)
        })
        .collect();
    let view = UserView::new(&user, now);
    let display = &view.display_name;
    let empty_text = match params.tab {
        ProfileTab::Activity => format!("{display} has not posted yet."),
        ProfileTab::Threads => format!("{display} has not started a thread yet."),
        ProfileTab::Replies => format!("{display} has not replied to a thread yet."),
        ProfileTab::Answers => format!("No reply of {display}'s is an accepted answer yet."),
        ProfileTab::BoostsGiven => format!("{display} has not boosted a post yet."),
        ProfileTab::BoostsReceived => format!("No post of {display}'s has been boosted yet."),
    };
    Ok(UserPageView {
        tab: params.tab,
        tabs,
        items,
        page: params.page,
        total_pages,
        prev_url: (params.page > 1).then(|| profile_url(name, params.tab, params.page - 1)),
        next_url: has_more.then(|| profile_url(name, params.tab, params.page + 1)),
        empty_text,
        feed_rss: paths::user_feed(name, "rss"),
        feed_atom: paths::user_feed(name, "atom"),
        user: view,
        user_id: id,
    })
}

/// A profile's tabs with their counts; `current` is the one shown (None: none of them, as on
/// the owner's bookmarks).
fn profile_tabs(
    username: &str,
    counts: &agora_store::ProfileCounts,
    current: Option<ProfileTab>,
) -> Vec<ProfileTabView> {
    ProfileTab::ALL
        .iter()
        .map(|&tab| {
            let (label, one, many) = profile_tab_words(tab);
            let count = CountView::new(counts.of(tab));
            ProfileTabView {
                tab,
                label,
                count_text: count.of(one, many),
                count,
                url: profile_url(username, tab, 1),
                current: current == Some(tab),
            }
        })
        .collect()
}

/// A member's profile header and tabs, without a tab's items: what the owner's bookmarks page
/// shows above its list.
pub async fn profile_head(state: &AppState, username: &str) -> Result<ProfileHeadView, AppError> {
    let user = state
        .store
        .user(username)
        .await?
        .ok_or_else(|| AppError::not_found(format!("There is no user “{username}”.")))?;
    depends_on(state, [Scope::User(user.brief.id)]);
    let counts = state.store.profile_counts(user.brief.id).await?;
    let name = &user.brief.username;
    Ok(ProfileHeadView {
        user_id: user.brief.id,
        tabs: profile_tabs(name, &counts, None),
        feed_rss: paths::user_feed(name, "rss"),
        feed_atom: paths::user_feed(name, "atom"),
        user: UserView::new(&user, format::now()),
    })
}

/// The newest threads anywhere, for the site-wide feed.
pub async fn latest_threads(state: &AppState) -> Result<Vec<ThreadSummaryView>, AppError> {
    depends_on(state, [Scope::Front]);
    let now = format::now();
    Ok(state
        .store
        .latest_threads(THREADS_PER_PAGE)
        .await?
        .iter()
        .map(|t| ThreadSummaryView::new(t, now))
        .collect())
}

/// One page of a thread. `reveal` (moderators) shows removed threads and hidden posts; others
/// get 404 for a removed thread and a placeholder for a hidden or deleted post.
pub async fn thread_page(
    state: &AppState,
    id: ThreadId,
    page: u32,
    reveal: bool,
) -> Result<ThreadPageView, AppError> {
    Ok(thread_page_rows(state, id, page, reveal).await?.0)
}

/// [`thread_page`] with the rows it was made from, for deciding what a reader may do to each post.
pub async fn thread_page_rows(
    state: &AppState,
    id: ThreadId,
    page: u32,
    reveal: bool,
) -> Result<(ThreadPageView, ThreadRow, Vec<PostRow>), AppError> {
    depends_on(state, [Scope::Thread(id)]);
    let per = i64::from(POSTS_PER_PAGE);
    let from = i64::from(page - 1) * per;
    let (thread, posts) = state
        .store
        .thread_with_posts(id, from, from + per)
        .await?
        .ok_or_else(|| AppError::not_found(format!("There is no thread {id}.")))?;
    if thread.removed && !reveal {
        return Err(AppError::not_found(format!(
            "Thread {id} was removed by its author or a moderator."
        )));
    }
    let total_posts = thread.last_position + 1;
    let total_pages = (total_posts as u64).div_ceil(POSTS_PER_PAGE as u64).max(1) as u32;
    if page > total_pages {
        return Err(AppError::not_found(format!(
            "This thread has {total_pages} page{}; there is no page {page}.",
            if total_pages == 1 { "" } else { "s" }
        )));
    }
    let now = format::now();
    let summary = &thread.summary;
    // The answer may be on another page of a long thread: the link names its page.
    let answer_link = |post: Option<PostId>, position: Option<i64>| {
        post.map(|p| AnswerLinkView {
            post_id: p.0,
            url: paths::post(
                summary.id,
                &summary.slug,
                position.unwrap_or(0),
                p,
                POSTS_PER_PAGE,
            ),
        })
    };
    let view = ThreadPageView {
        removed: thread.removed,
        thread: ThreadSummaryView::new(summary, now),
        lock_reason: thread.lock_reason.clone(),
        locked_at: thread.locked_at.map(|t| TimeView::new(t, now)),
        accepted_answer: answer_link(thread.accepted_post_id, thread.accepted_position),
        recommended_answer: answer_link(thread.recommended_post_id, thread.recommended_position),
        posts: posts
            .iter()
            .map(|p| PostView::new(p, &thread, now, reveal))
            .collect(),
        page,
        total_pages,
        prev_url: (page > 1).then(|| paths::thread_page(summary.id, &summary.slug, page - 1)),
        next_url: (page < total_pages)
            .then(|| paths::thread_page(summary.id, &summary.slug, page + 1)),
        feed_rss: paths::thread_feed(summary.id, "rss"),
        feed_atom: paths::thread_feed(summary.id, "atom"),
    };
    Ok((view, thread, posts))
}

/// Longest run of unchanged lines shown around a change; longer runs collapse to a gap.
const DIFF_CONTEXT: usize = 2;

fn diff_lines(old: &str, new: &str) -> Vec<DiffLineView> {
    // A deadline bounds the work on pathological revisions (huge, completely rewritten texts);
    // past it the diff is coarser, never wrong.
    let diff = TextDiff::configure()
        .timeout(std::time::Duration::from_millis(100))
        .diff_lines(old, new);
    let mut lines = Vec::new();
    for group in diff.grouped_ops(DIFF_CONTEXT) {
        if !lines.is_empty() {
            lines.push(DiffLineView {
                kind: "gap",
                segments: Vec::new(),
            });
        }
        for op in group {
            for change in diff.iter_inline_changes(&op) {
                let kind = match change.tag() {
                    ChangeTag::Delete => "removed",
                    ChangeTag::Insert => "added",
                    ChangeTag::Equal => "same",
                };
                let segments = change
                    .iter_strings_lossy()
                    .map(|(emphasized, text)| DiffSegmentView {
                        text: text.trim_end_matches('\n').to_string(),
                        emphasized,
                    })
                    .collect();
                lines.push(DiffLineView { kind, segments });
            }
        }
    }
    lines
}

/// Every revision of a post. A deleted or hidden post, or one in a removed thread, keeps its
/// history from everyone but moderators (`reveal`).
pub async fn revisions_page(
    state: &AppState,
    post_id: PostId,
    reveal: bool,
) -> Result<RevisionsPageView, AppError> {
    let missing = || AppError::not_found(format!("There is no post {post_id}."));
    let (post, thread, revisions) = state
        .store
        .post_history(post_id)
        .await?
        .ok_or_else(missing)?;
    if (post.deleted || post.hidden || thread.removed) && !reveal {
        return Err(AppError::not_found(format!(
            "Post {post_id} was removed, and its history with it."
        )));
    }
    let now = format::now();
    let mut views: Vec<RevisionView> = Vec::with_capacity(revisions.len());
    for (i, rev) in revisions.iter().enumerate() {
        let diff = match i {
            0 => Vec::new(),
            _ => diff_lines(&revisions[i - 1].body_md, &rev.body_md),
        };
        views.push(RevisionView {
            number: rev.revision,
            author: AuthorView::from(&rev.author),
            created_at: TimeView::new(rev.created_at, now),
            reason: rev.reason.clone(),
            body: rev.body_md.clone(),
            diff,
        });
    }
    views.reverse();
    let summary = &thread.summary;
    Ok(RevisionsPageView {
        post_id: post_id.0,
        post_url: post_url(summary.id, &summary.slug, post.position, post_id),
        thread: ThreadSummaryView::new(summary, now),
        revisions: views,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_parameters_are_named() {
        let raw = RawListingParams {
            sort_by: Some("likes".into()),
            ..Default::default()
        };
        match ListingParams::parse(&raw) {
            Err(AppError::BadRequest { param, message }) => {
                assert_eq!(param, "sortBy");
                assert!(message.contains("activity"), "{message}");
            }
            other => panic!("expected a bad sortBy, got {other:?}"),
        }
        for value in ["", " views", "Views"] {
            let raw = RawListingParams {
                sort_by: Some(value.into()),
                ..Default::default()
            };
            assert!(ListingParams::parse(&raw).is_err(), "{value:?}");
        }
        let raw = RawListingParams {
            page: Some("007".into()),
            ..Default::default()
        };
        assert_eq!(ListingParams::parse(&raw).ok().map(|p| p.page), Some(7));
        for page in ["0", "-1", "x", "100001", "", " 2", "+2", "2.0"] {
            let raw = RawListingParams {
                page: Some(page.into()),
                ..Default::default()
            };
            assert!(
                matches!(ListingParams::parse(&raw), Err(AppError::BadRequest { ref param, .. }) if param == "page")
            );
        }
    }

    #[test]
    fn cursors_are_ids() {
        let cursor = |before: Option<&str>, after: Option<&str>| {
            parse_cursor(&RawCursorParams {
                before: before.map(str::to_string),
                after: after.map(str::to_string),
            })
        };
        assert_eq!(cursor(None, None).ok(), Some(Cursor::Start));
        assert_eq!(cursor(Some(""), None).ok(), Some(Cursor::Start));
        assert_eq!(cursor(Some("7"), None).ok(), Some(Cursor::Before(7)));
        assert_eq!(cursor(None, Some(" 9 ")).ok(), Some(Cursor::After(9)));
        for (before, after, named) in [
            (Some("x"), None, "before"),
            (Some("0"), None, "before"),
            (None, Some("-3"), "after"),
            (Some("1"), Some("2"), "after"),
        ] {
            assert!(
                matches!(cursor(before, after), Err(AppError::BadRequest { ref param, .. }) if param == named),
                "{before:?} {after:?}"
            );
        }
    }

    #[test]
    fn query_strings_leave_out_defaults() {
        let p =
            ListingParams::parse(&RawListingParams::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.query_string(), "");
        let p = ListingParams {
            sort: SortKey::Views,
            page: 3,
            ..p
        };
        assert_eq!(p.query_string(), "?sortBy=views&page=3");
    }

    #[test]
    fn diffs_mark_changed_words() {
        let lines = diff_lines("one\ntwo three\nfour\n", "one\ntwo 3\nfour\n");
        let kinds: Vec<&str> = lines.iter().map(|l| l.kind).collect();
        assert_eq!(kinds, vec!["same", "removed", "added", "same"]);
        assert!(
            lines[2]
                .segments
                .iter()
                .any(|s| s.emphasized && s.text == "3")
        );
    }
}
