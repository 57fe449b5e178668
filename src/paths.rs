//! Every URL the forum links to, built in one place so links and routes cannot disagree.
//! Segments are percent-encoded: thread slugs and usernames may be in any script.

use agora_store::{PostId, ThreadId};

use crate::error::AppError;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

/// Characters escaped inside one path segment.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'\\')
    .add(b'^')
    .add(b'|');

fn seg(text: &str) -> String {
    utf8_percent_encode(text, SEGMENT).to_string()
}

/// A slug inside a query string: unreserved characters (`-`, `.`, `_`, `~`) stay readable.
fn query_word(text: &str) -> String {
    const WORD: &AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    utf8_percent_encode(text, WORD).to_string()
}

/// A value inside a query string (`?next=…`).
pub fn encode_query(text: &str) -> String {
    utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Where to go after signing in: only a path on this site, never another site. Browsers drop
/// tabs and line breaks from URLs and read `\` as `/`, so `/\t/evil.example` would be
/// `//evil.example`: any whitespace, control character or backslash refuses the value.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path
                    .chars()
                    .any(|c| c == '\\' || c.is_whitespace() || c.is_control()) =>
        {
            path.to_string()
        }
        _ => home(),
    }
}

pub fn home() -> String {
    "/".to_string()
}

pub fn subtopic(area: &str, subtopic: &str) -> String {
    format!("/topics/{}/{}", seg(area), seg(subtopic))
}

/// `kind` is "rss" or "atom".
pub fn subtopic_feed(area: &str, sub: &str, kind: &str) -> String {
    format!("{}/feed.{kind}", subtopic(area, sub))
}

pub fn tags() -> String {
    "/tags".to_string()
}

pub fn tag(slug: &str) -> String {
    format!("/tags/{}", seg(slug))
}

/// A tag's admin page.
pub fn admin_tag(slug: &str) -> String {
    format!("/admin/tags/{}", seg(slug))
}

/// Where staff retry a dead job (`/admin`).
pub fn retry_job(id: i64) -> String {
    format!("/admin/jobs/{id}/retry")
}

pub fn tag_feed(slug: &str, kind: &str) -> String {
    format!("{}/feed.{kind}", tag(slug))
}

pub fn thread(id: ThreadId, slug: &str) -> String {
    format!("/thread/{id}/{}", seg(slug))
}

/// A thread by id alone, for records that do not carry its slug: redirects to [`thread`].
pub fn thread_by_id(id: ThreadId) -> String {
    format!("/thread/{id}")
}

pub fn thread_page(id: ThreadId, slug: &str, page: u32) -> String {
    if page <= 1 {
        thread(id, slug)
    } else {
        format!("{}?page={page}", thread(id, slug))
    }
}

pub fn thread_feed(id: ThreadId, kind: &str) -> String {
    format!("/thread/{id}/feed.{kind}")
}

/// The id of a post's element on its thread page.
pub fn post_anchor(id: PostId) -> String {
    format!("post-{id}")
}

/// The page of a thread that shows the post at `position` (0 is the opening post), with
/// `per_page` posts a page.
pub fn post_page(position: i64, per_page: u32) -> u32 {
    let per = i64::from(per_page.max(1));
    u32::try_from(position.max(0) / per + 1).unwrap_or(u32::MAX)
}

/// A post's permalink: the page of its thread that shows it, and its anchor. The one place a
/// post's address is made (thread pages, feeds, search results, answer links, revisions, the
/// review queue, redirects after a write, the API), so none can point at the wrong page.
pub fn post(thread: ThreadId, slug: &str, position: i64, post: PostId, per_page: u32) -> String {
    format!(
        "{}#{}",
        thread_page(thread, slug, post_page(position, per_page)),
        post_anchor(post)
    )
}

/// The confirmation page before a post is deleted (its form does the deleting).
pub fn delete_post(post: PostId) -> String {
    format!("/posts/{post}/delete")
}

/// The reply form answering one post (without JavaScript; with it, the thread's reply box).
pub fn reply_to(thread: ThreadId, post: PostId) -> String {
    format!("/thread/{thread}/reply?to={post}")
}

/// The search page for `query`, page `page` (1 is left out).
pub fn search(query: &str, page: u32) -> String {
    let mut url = format!("/search?q={}", encode_query(query));
    if page > 1 {
        url.push_str(&format!("&page={page}"));
    }
    url
}

/// A search's feed (`rss` or `atom`).
pub fn search_feed(query: &str, kind: &str) -> String {
    format!("/search/feed.{kind}?q={}", encode_query(query))
}

pub fn revisions(post: PostId) -> String {
    format!("/posts/{post}/revisions")
}

pub fn user(username: &str) -> String {
    format!("/users/{}", seg(username))
}

/// A member's bookmarks (their owner's alone), page `page`.
pub fn bookmarks(username: &str, page: u32) -> String {
    if page > 1 {
        format!("{}/bookmarks?page={page}", user(username))
    } else {
        format!("{}/bookmarks", user(username))
    }
}

/// A member's feed of their posts (`rss` or `atom`).
pub fn user_feed(username: &str, kind: &str) -> String {
    format!("{}/feed.{kind}", user(username))
}

/// The site-wide feed of the newest threads (`rss` or `atom`).
pub fn latest_feed(kind: &str) -> String {
    format!("/feed.{kind}")
}

/// The compose form with a subtopic (`area/slug`) or a tag chosen already.
pub fn compose(subtopic: Option<(&str, &str)>, tag: Option<&str>) -> String {
    match (subtopic, tag) {
        (Some((area, sub)), _) => format!("/new?subtopic={}/{}", query_word(area), query_word(sub)),
        (None, Some(tag)) => format!("/new?tag={}", query_word(tag)),
        (None, None) => "/new".to_string(),
    }
}

/// Thread ids in paths that are not numbers name no thread: 404, like any unknown id.
pub fn parse_thread_id(text: &str) -> Result<ThreadId, AppError> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .map(ThreadId)
        .ok_or_else(|| AppError::not_found(format!("There is no thread {text:?}.")))
}

pub fn parse_post_id(text: &str) -> Result<PostId, AppError> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .map(PostId)
        .ok_or_else(|| AppError::not_found(format!("There is no post {text:?}.")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_encoded() {
        assert_eq!(user("李明"), "/users/%E6%9D%8E%E6%98%8E");
        assert_eq!(thread(ThreadId(7), "a/b?c"), "/thread/7/a%2Fb%3Fc");
        assert_eq!(thread_page(ThreadId(7), "x", 1), "/thread/7/x");
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/x",
            "https://x",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(Some("/new?x=1")), "/new?x=1");
        assert_eq!(thread_page(ThreadId(7), "x", 3), "/thread/7/x?page=3");
    }

    #[test]
    fn a_post_links_to_the_page_that_shows_it() {
        let at = |position| post(ThreadId(7), "x", position, PostId(9), 50);
        assert_eq!(at(0), "/thread/7/x#post-9");
        assert_eq!(at(49), "/thread/7/x#post-9");
        assert_eq!(at(50), "/thread/7/x?page=2#post-9");
        assert_eq!(at(100), "/thread/7/x?page=3#post-9");
        assert_eq!(post_page(-1, 50), 1);
        assert_eq!(post_page(5, 0), 6);
    }
}
