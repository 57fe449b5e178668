//! RSS 2.0 and Atom feeds for subtopics, tags, threads, members and the whole site, built
//! from the same views as the pages (newest first), with absolute links.
//!
//! A feed is valid XML 1.0 whatever the database holds: characters XML forbids (C0 controls
//! other than tab and line breaks, U+FFFE, U+FFFF) are dropped from the finished document.
//! They can never be markup, so this removes them from every text and attribute value in it
//! (titles, bodies, names, categories, links) and changes nothing else, old rows and any
//! field a feed gains later included.

use agora_store::Timestamp;
use atom_syndication as atom;
use chrono::{DateTime, FixedOffset};

use crate::views::{PostView, ProfileItemView, ThreadPageView, ThreadSummaryView, TimeView};

/// What one feed says about itself.
pub struct FeedMeta {
    pub title: String,
    pub description: String,
    /// Absolute URL of the page the feed follows.
    pub page_url: String,
    /// Absolute URL of this feed.
    pub self_url: String,
    pub base_url: String,
}

/// One entry, whether a thread in a listing or a post in a thread.
pub struct FeedEntry {
    pub title: String,
    pub url: String,
    pub author: String,
    pub published: DateTime<FixedOffset>,
    pub updated: DateTime<FixedOffset>,
    pub html: String,
    pub categories: Vec<String>,
}

fn parse_time(time: &TimeView) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(&time.iso).unwrap_or_default()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub fn thread_entries(threads: &[ThreadSummaryView], base: &str) -> Vec<FeedEntry> {
    threads
        .iter()
        .map(|t| FeedEntry {
            title: t.title.clone(),
            url: format!("{base}{}", t.url),
            author: t.author.display_name.clone(),
            published: parse_time(&t.created_at),
            updated: parse_time(&t.last_activity_at),
            html: format!("<p>{}</p>", escape(&t.excerpt)),
            categories: t.tags.iter().map(|tag| tag.name.clone()).collect(),
        })
        .collect()
}

pub fn post_entries(page: &ThreadPageView, base: &str) -> Vec<FeedEntry> {
    page.posts
        .iter()
        .rev()
        // Deleted and hidden posts are not news.
        .filter(|p| !p.deleted && !p.hidden)
        .map(|p: &PostView| FeedEntry {
            title: if p.position == 0 {
                page.thread.title.clone()
            } else {
                format!("Re: {}", page.thread.title)
            },
            // The post's permalink: the page of the thread that shows it.
            url: format!("{base}{}", p.url),
            author: p.author.display_name.clone(),
            published: parse_time(&p.created_at),
            updated: parse_time(p.edited_at.as_ref().unwrap_or(&p.created_at)),
            html: p.body_html.clone(),
            categories: Vec::new(),
        })
        .collect()
}

/// A member's posts, as their profile lists them (only what every reader may see).
pub fn profile_entries(items: &[ProfileItemView], base: &str) -> Vec<FeedEntry> {
    items
        .iter()
        .map(|item| FeedEntry {
            title: if item.kind == "thread" {
                item.thread.title.clone()
            } else {
                format!("Re: {}", item.thread.title)
            },
            url: format!("{base}{}", item.url),
            author: item.author.display_name.clone(),
            published: parse_time(&item.created_at),
            updated: parse_time(&item.created_at),
            html: item.body_html.clone(),
            categories: vec![item.subtopic.name.clone()],
        })
        .collect()
}

fn newest(entries: &[FeedEntry]) -> DateTime<FixedOffset> {
    entries
        .iter()
        .map(|e| e.updated)
        .max()
        .unwrap_or_else(|| Timestamp::from_micros(0).to_datetime().fixed_offset())
}

pub fn rss(meta: &FeedMeta, entries: &[FeedEntry]) -> String {
    let items: Vec<rss::Item> = entries
        .iter()
        .map(|e| {
            let mut item = rss::Item::default();
            item.set_title(e.title.clone());
            item.set_link(e.url.clone());
            item.set_guid(rss::Guid {
                value: e.url.clone(),
                permalink: true,
            });
            item.set_pub_date(e.published.to_rfc2822());
            item.set_description(e.html.clone());
            item.set_dublin_core_ext(None);
            item.set_categories(
                e.categories
                    .iter()
                    .map(|c| rss::Category {
                        name: c.clone(),
                        domain: None,
                    })
                    .collect::<Vec<_>>(),
            );
            item
        })
        .collect();
    let mut channel = rss::Channel::default();
    channel.set_title(meta.title.clone());
    channel.set_link(meta.page_url.clone());
    channel.set_description(meta.description.clone());
    channel.set_last_build_date(newest(entries).to_rfc2822());
    channel.set_generator("Agora".to_string());
    channel.set_items(items);
    valid_xml(channel.to_string())
}

/// The document without the characters XML 1.0 forbids (see the module's comment).
fn valid_xml(document: String) -> String {
    match agora_markup::xml_safe(&document) {
        std::borrow::Cow::Borrowed(_) => document,
        std::borrow::Cow::Owned(safe) => safe,
    }
}

pub fn atom(meta: &FeedMeta, entries: &[FeedEntry]) -> String {
    let link = |href: &str, rel: &str, mime: &str| {
        let mut link = atom::Link::default();
        link.set_href(href);
        link.set_rel(rel);
        link.set_mime_type(Some(mime.to_string()));
        link
    };
    let entries: Vec<atom::Entry> = entries
        .iter()
        .map(|e| {
            let mut entry = atom::Entry::default();
            entry.set_title(e.title.clone());
            entry.set_id(e.url.clone());
            entry.set_updated(e.updated);
            entry.set_published(Some(e.published));
            entry.set_links(vec![link(&e.url, "alternate", "text/html")]);
            let mut author = atom::Person::default();
            author.set_name(e.author.clone());
            entry.set_authors(vec![author]);
            let mut content = atom::Content::default();
            content.set_content_type(Some("html".to_string()));
            content.set_value(Some(e.html.clone()));
            entry.set_content(Some(content));
            entry.set_categories(
                e.categories
                    .iter()
                    .map(|c| {
                        let mut cat = atom::Category::default();
                        cat.set_term(c.clone());
                        cat
                    })
                    .collect::<Vec<_>>(),
            );
            entry
        })
        .collect();
    let mut feed = atom::Feed::default();
    feed.set_title(meta.title.clone());
    feed.set_id(meta.self_url.clone());
    feed.set_updated(newest_atom(&entries));
    feed.set_subtitle(Some(atom::Text::plain(meta.description.clone())));
    feed.set_links(vec![
        link(&meta.self_url, "self", "application/atom+xml"),
        link(&meta.page_url, "alternate", "text/html"),
    ]);
    let mut generator = atom::Generator::default();
    generator.set_value("Agora");
    generator.set_uri(Some(meta.base_url.to_string()));
    feed.set_generator(Some(generator));
    feed.set_entries(entries);
    valid_xml(feed.to_string())
}

fn newest_atom(entries: &[atom::Entry]) -> DateTime<FixedOffset> {
    entries
        .iter()
        .map(|e| *e.updated())
        .max()
        .unwrap_or_else(|| Timestamp::from_micros(0).to_datetime().fixed_offset())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_characters_leave_every_field() {
        let nasty = "a\u{1}\u{b}\u{fffe}\u{ffff}b\tc";
        let meta = FeedMeta {
            title: nasty.to_string(),
            description: nasty.to_string(),
            page_url: "https://forum.example/x".to_string(),
            self_url: "https://forum.example/x/feed".to_string(),
            base_url: "https://forum.example".into(),
        };
        let at = Timestamp::from_micros(0).to_datetime().fixed_offset();
        let entries = vec![FeedEntry {
            title: nasty.to_string(),
            url: "https://forum.example/thread/1/x".to_string(),
            author: nasty.to_string(),
            published: at,
            updated: at,
            html: format!("<p>{nasty}</p>"),
            categories: vec![nasty.to_string()],
        }];
        for document in [rss(&meta, &entries), atom(&meta, &entries)] {
            assert!(
                document.chars().all(agora_markup::is_xml_char),
                "{document:?}"
            );
            assert!(document.contains("ab\tc"), "{document:?}");
        }
    }
}
