//! `agora generate`: a deterministic, realistic synthetic forum for benchmarks, written through
//! the store's bulk path in chunks (never all in memory).
//!
//! Shape: five areas and fourteen subtopics of Zipf-like size; 200 tags with a Zipf-like
//! spread; threads/5 users, 2% of them staff; titles and Markdown bodies with code blocks and
//! links, ~5% of threads in Chinese or Japanese; long-tailed views and boosts; activity over
//! two years; a few megathreads of 5,000+ replies; pinned, locked and solved threads. Bodies
//! are assembled from a pool of blocks rendered once by the real renderer, so the HTML is
//! exactly what a post would store.

use std::collections::HashSet;
use std::sync::Arc;

use agora_store::archive::{Area, Boost, Lock, Post, Subtopic, Tag, Thread, User};
use agora_store::{Archive, ImportStats, PinScope, Role, Store, ThreadKind, Timestamp};
use indicatif::ProgressBar;

const CHUNK_THREADS: usize = 500;
const DAY: i64 = 86_400_000_000;
const TAG_COUNT: usize = 200;

#[derive(Clone, Copy, Debug)]
pub struct Plan {
    pub threads: u64,
    pub replies_per_thread: u64,
    pub seed: u64,
}

/// (slug, name) of a subtopic.
type SubtopicSpec = (&'static str, &'static str);

const AREAS: &[(&str, &str, &[SubtopicSpec])] = &[
    (
        "app-system-services",
        "App & System Services",
        &[
            ("networking", "Networking"),
            ("background-tasks", "Background Tasks"),
            ("storage", "Storage & Persistence"),
            ("security", "Security & Privacy"),
        ],
    ),
    (
        "developer-tools",
        "Developer Tools & Services",
        &[
            ("build-system", "Build System"),
            ("testing", "Testing"),
            ("debugging", "Debugging & Profiling"),
        ],
    ),
    (
        "ui-frameworks",
        "UI Frameworks",
        &[
            ("layout", "Layout"),
            ("accessibility", "Accessibility"),
            ("animation", "Animation"),
        ],
    ),
    (
        "languages",
        "Programming Languages",
        &[("swift", "Swift"), ("rust", "Rust")],
    ),
    (
        "community",
        "Community",
        &[
            ("announcements", "Announcements"),
            ("meta", "Site Feedback"),
        ],
    ),
];

const SUBJECTS: &[&str] = &[
    "URLSession",
    "NWConnection",
    "NWListener",
    "WebSocket task",
    "background upload",
    "TLS handshake",
    "Bonjour browser",
    "packet tunnel",
    "content filter",
    "QUIC stream",
    "HTTP/3 request",
    "proxy configuration",
    "Keychain item",
    "Core Data store",
    "SwiftData model",
    "BGProcessingTask",
    "build cache",
    "XCTest run",
    "async let",
    "actor reentrancy",
    "Instruments trace",
    "linker step",
    "sanitizer",
    "LazyVStack",
    "VoiceOver focus",
];
const PROBLEMS: &[&str] = &[
    "fails with -1009 after waking from sleep",
    "never completes on cellular",
    "crashes in release builds only",
    "times out behind a corporate proxy",
    "leaks memory under load",
    "is slow on the first launch",
    "returns an empty response",
    "stops after the app is suspended",
    "ignores the configured timeout",
    "reports the wrong error domain",
    "works on Wi-Fi but not on VPN",
    "hangs when the server closes early",
    "throws kCFErrorDomainCFNetwork 310",
    "succeeds but the delegate never fires",
    "behaves differently on macOS",
];
const OPENERS: &[&str] = &[
    "Why",
    "How do I stop",
    "Is it expected that",
    "Workaround needed:",
    "Help:",
    "Question:",
];

const CJK_TITLES: &[&str] = &[
    "网络请求在后台几分钟后失败，错误代码 -1005",
    "URLSession 上传大文件时内存一直增长",
    "Bonjour 服务在局域网里搜索不到设备",
    "证书校验失败：服务器信任评估返回 false",
    "バックグラウンドでダウンロードが止まってしまう",
    "NWConnection で UDP の受信が一度しか呼ばれない",
    "VPN 接続中に HTTP/3 が使われないのはなぜですか",
    "App 切到后台后 WebSocket 连接被断开",
];

const WORDS: &[&str] = &[
    "the",
    "request",
    "server",
    "response",
    "connection",
    "session",
    "delegate",
    "callback",
    "timeout",
    "retry",
    "device",
    "simulator",
    "release",
    "build",
    "thread",
    "queue",
    "main",
    "actor",
    "task",
    "error",
    "domain",
    "after",
    "before",
    "when",
    "every",
    "only",
    "never",
    "always",
    "seems",
    "expected",
    "instead",
    "with",
    "cache",
    "network",
    "interface",
    "cellular",
    "Wi-Fi",
    "proxy",
    "certificate",
    "trust",
    "evaluation",
];

const CJK_SENTENCES: &[&str] = &[
    "我们已经检查过设备的存储空间，还有很多剩余，但是请求仍然失败。",
    "在模拟器上一切正常，只有在真机上才会出现这个问题。",
    "日志里只看到一次回调，之后就再也没有收到数据。",
    "この問題はリリースビルドでのみ発生し、デバッグビルドでは再現しません。",
    "サーバー側のログにはリクエストが届いていないように見えます。",
];

const CODE_BLOCKS: &[(&str, &str)] = &[
    (
        "swift",
        "let task = session.dataTask(with: request) { data, response, error in\n    if let error = error as? URLError {\n        print(\"failed:\", error.code)\n        return\n    }\n    handle(data)\n}\ntask.resume()",
    ),
    (
        "rust",
        "async fn fetch(client: &Client, url: &str) -> Result<Bytes, Error> {\n    let response = client.get(url).timeout(Duration::from_secs(10)).send().await?;\n    response.error_for_status()?.bytes().await\n}",
    ),
    (
        "c",
        "int fd = socket(AF_INET, SOCK_DGRAM, 0);\nif (fd < 0) {\n    perror(\"socket\");\n    return -1;\n}\nsetsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));",
    ),
    (
        "json",
        "{\n  \"code\": -1009,\n  \"domain\": \"NSURLErrorDomain\",\n  \"retryable\": true\n}",
    ),
    (
        "shell",
        "$ log stream --predicate 'subsystem == \"com.apple.network\"' --level debug\n$ nettop -m tcp -p MyApp",
    ),
];

fn pick<'a, T>(rng: &mut fastrand::Rng, items: &'a [T]) -> &'a T {
    &items[rng.usize(..items.len())]
}

/// A Zipf-like choice of index in `0..n`: index 0 is the most likely, then 1/2 as likely, …
fn zipf(rng: &mut fastrand::Rng, n: usize) -> usize {
    // Inverse of a continuous 1/x distribution over [1, n+1).
    let x = ((n as f64 + 1.0).ln() * rng.f64()).exp();
    (x as usize).saturating_sub(1).min(n - 1)
}

/// Long-tailed count in `0..max`: mostly small, a few large.
fn long_tail(rng: &mut fastrand::Rng, max: f64) -> i64 {
    ((max.ln() * rng.f64().powi(2)).exp() - 1.0).max(0.0) as i64
}

/// A block of Markdown rendered once: its source, HTML and plain text.
struct Block {
    markdown: String,
    html: String,
    text: String,
}

/// Word frequencies of real forum text (`scripts/vocabulary`): word and count per line.
const VOCABULARY: &str = include_str!("vocabulary.txt");

/// The vocabulary as a cumulative distribution, read once.
struct Vocabulary {
    words: Vec<&'static str>,
    /// Running totals of the counts, for a draw by binary search.
    cumulative: Vec<u64>,
}

fn vocabulary() -> &'static Vocabulary {
    static ONCE: std::sync::OnceLock<Vocabulary> = std::sync::OnceLock::new();
    ONCE.get_or_init(|| {
        let mut words = Vec::new();
        let mut cumulative = Vec::new();
        let mut total = 0u64;
        for line in VOCABULARY.lines().filter(|l| !l.starts_with('#')) {
            if let Some((word, count)) = line.split_once(' ')
                && let Ok(count) = count.trim().parse::<u64>()
            {
                total += count;
                words.push(word);
                cumulative.push(total);
            }
        }
        Vocabulary { words, cumulative }
    })
}

/// A word drawn as often as real text uses it; one in twenty from the forum's technical words.
fn word(rng: &mut fastrand::Rng) -> &'static str {
    let v = vocabulary();
    match v.cumulative.last() {
        Some(&total) if rng.usize(..20) != 0 => {
            let at = rng.u64(..total);
            let i = v.cumulative.partition_point(|&c| c <= at);
            v.words[i.min(v.words.len() - 1)]
        }
        _ => pick::<&str>(rng, WORDS),
    }
}

fn sentence(rng: &mut fastrand::Rng, words: usize) -> String {
    let mut out = String::new();
    for i in 0..words {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(word(rng));
    }
    let mut chars = out.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => out,
    }
}

/// Paragraphs, lists, quotes and code blocks written once and combined into posts.
const LATIN_BLOCKS: usize = 4_000;

fn block_pool(rng: &mut fastrand::Rng) -> (Vec<Block>, Vec<Block>) {
    let render = |markdown: String| Block {
        html: agora_markup::render(&markdown),
        text: agora_markup::plain_text(&markdown),
        markdown,
    };
    let mut latin = Vec::new();
    // Enough blocks that posts differ as a forum's do (every post draws a few).
    for i in 0..LATIN_BLOCKS {
        let markdown = match i % 8 {
            0..=3 => {
                let n = 2 + rng.usize(..4);
                (0..n)
                    .map(|_| {
                        let words = 8 + rng.usize(..14);
                        sentence(rng, words)
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            }
            4 => format!(
                "{} See [the documentation](https://example.com/docs/{}) and `{}`.",
                sentence(rng, 10),
                rng.u32(..1000),
                pick(rng, SUBJECTS)
            ),
            5 => {
                let (lang, code) = pick(rng, CODE_BLOCKS);
                format!("```{lang}\n{code}\n```")
            }
            6 => (0..3)
                .map(|_| format!("- {}", sentence(rng, 6)))
                .collect::<Vec<_>>()
                .join("\n"),
            _ => format!("> {}\n\n{}", sentence(rng, 12), sentence(rng, 9)),
        };
        latin.push(render(markdown));
    }
    let cjk = (0..60)
        .map(|_| {
            let n = 1 + rng.usize(..3);
            render(
                (0..n)
                    .map(|_| *pick(rng, CJK_SENTENCES))
                    .collect::<Vec<_>>()
                    .join(""),
            )
        })
        .collect();
    (latin, cjk)
}

fn body(rng: &mut fastrand::Rng, pool: &[Block], blocks: usize) -> (String, String, String) {
    let chosen: Vec<&Block> = (0..blocks).map(|_| pick(rng, pool)).collect();
    let markdown = chosen
        .iter()
        .map(|b| b.markdown.as_str())
        .collect::<Vec<_>>()
        .join("\n\n");
    let html = chosen
        .iter()
        .map(|b| b.html.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let text = chosen
        .iter()
        .map(|b| b.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    (markdown, html, text)
}

fn taxonomy(plan: &Plan, rng: &mut fastrand::Rng, now: i64) -> Archive {
    let mut forum = Archive::empty();
    for (slug, name, subs) in AREAS {
        forum.areas.push(Area {
            slug: (*slug).into(),
            name: (*name).into(),
            description: format!("Questions and discussions about {}.", name.to_lowercase()),
            subtopics: subs
                .iter()
                .map(|(s, n)| Subtopic {
                    slug: (*s).into(),
                    name: (*n).into(),
                    description: format!("Everything about {} on our platforms.", n.to_lowercase()),
                    docs_url: Some(format!("https://example.com/documentation/{s}")),
                    ..Default::default()
                })
                .collect(),
            archived_at: None,
        });
    }
    for i in 0..TAG_COUNT {
        let base = SUBJECTS[i % SUBJECTS.len()].to_lowercase();
        let slug = archive_slug(&format!("{base} {}", i / SUBJECTS.len()));
        forum.tags.push(Tag {
            name: format!("{} {}", SUBJECTS[i % SUBJECTS.len()], i / SUBJECTS.len()),
            description: format!("Threads about {base}."),
            slug,
        });
    }
    let users = (plan.threads / 5).max(20);
    for i in 0..users {
        let staff = i % 50 == 0;
        forum.users.push(User {
            username: format!("user{i}"),
            display_name: format!("User {i}"),
            role: if staff { Role::Staff } else { Role::Member },
            staff_title: staff.then(|| "Developer Technical Support".to_string()),
            signature: if staff {
                "Share and Enjoy\n\n— Developer Technical Support".into()
            } else {
                String::new()
            },
            created_at: Timestamp::from_micros(now - 3 * 365 * DAY + rng.i64(..365 * DAY)),
            account: None,
            avatar: None,
            signature_html: String::new(),
        });
    }
    forum
}

fn archive_slug(text: &str) -> String {
    let slug = agora_store::slugify(text);
    slug.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect()
}

struct Generator {
    rng: fastrand::Rng,
    latin: Vec<Block>,
    cjk: Vec<Block>,
    subtopics: Vec<String>,
    tags: Vec<String>,
    users: u64,
    staff: Vec<String>,
    now: i64,
    next_post: i64,
}

impl Generator {
    fn user(&mut self) -> String {
        format!("user{}", self.rng.u64(..self.users))
    }

    fn thread(&mut self, id: i64, replies: u64, pinned: bool) -> Thread {
        let rng = &mut self.rng;
        let cjk = rng.u32(..100) < 5;
        let title = if cjk {
            pick(rng, CJK_TITLES).to_string()
        } else {
            format!(
                "{} {} {}",
                pick(rng, OPENERS),
                pick(rng, SUBJECTS),
                pick(rng, PROBLEMS)
            )
        };
        let subtopic = self.subtopics[zipf(rng, self.subtopics.len())].clone();
        let mut tags: Vec<String> = Vec::new();
        for _ in 0..1 + rng.usize(..3) {
            let tag = self.tags[zipf(rng, self.tags.len())].clone();
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        let created = self.now - rng.i64(1..2 * 365 * DAY);
        let mut at = created;
        let author = if pinned {
            self.staff[0].clone()
        } else {
            self.user()
        };
        let mut posts = Vec::with_capacity(replies as usize + 1);
        let mut excerpt = String::new();
        for n in 0..=replies {
            let pool = if cjk { &self.cjk } else { &self.latin };
            let blocks = if n == 0 {
                2 + self.rng.usize(..3)
            } else {
                1 + self.rng.usize(..2)
            };
            let (markdown, html, text) = body(&mut self.rng, pool, blocks);
            if n == 0 {
                excerpt =
                    agora_markup::truncate_text(&text, crate::services::archive::EXCERPT_CHARS);
            }
            let post_author = if n == 0 {
                author.clone()
            } else if self.rng.u32(..100) < 8 {
                self.staff[self.rng.usize(..self.staff.len())].clone()
            } else {
                self.user()
            };
            if n > 0 {
                // Replies come minutes to days apart, never in the future.
                at = (at + self.rng.i64(60_000_000..3 * DAY)).min(self.now - 1);
            }
            let boosts = if n == 0 {
                long_tail(&mut self.rng, 60.0)
            } else {
                long_tail(&mut self.rng, 8.0)
            };
            let mut boosters = HashSet::new();
            let mut boost_list = Vec::new();
            while (boost_list.len() as i64) < boosts.min(self.users as i64 - 1) {
                let who = self.user();
                if who != post_author && boosters.insert(who.clone()) {
                    boost_list.push(Boost {
                        user: who,
                        at: Timestamp::from_micros(at + 1),
                    });
                }
            }
            posts.push(Post {
                id: self.next_post,
                author: post_author,
                created_at: Timestamp::from_micros(at),
                body: markdown,
                boosts: boost_list,
                revisions: Vec::new(),
                deleted: None,
                hidden: None,
                reply_to: None,
                body_html: html,
            });
            self.next_post += 1;
        }
        let rng = &mut self.rng;
        let kind = if rng.u32(..100) < 80 {
            ThreadKind::Question
        } else {
            ThreadKind::Discussion
        };
        let reply_ids: Vec<i64> = posts[1..].iter().map(|p| p.id).collect();
        let accepted =
            (kind == ThreadKind::Question && !reply_ids.is_empty() && rng.u32(..100) < 30)
                .then(|| reply_ids[rng.usize(..reply_ids.len())]);
        let recommended = (!reply_ids.is_empty() && rng.u32(..100) < 10)
            .then(|| reply_ids[rng.usize(..reply_ids.len())]);
        let locked = (rng.u32(..100) == 0).then(|| Lock {
            at: Timestamp::from_micros(at),
            by: self.staff[0].clone(),
            reason: "Locked to keep the discussion focused.".into(),
        });
        Thread {
            id,
            subtopic,
            title,
            kind,
            tags,
            pinned: pinned.then_some(PinScope::Subtopic),
            locked,
            views: long_tail(rng, 200_000.0) + posts.len() as i64,
            accepted_post_id: accepted,
            recommended_post_id: recommended,
            posts,
            excerpt,
        }
    }
}

/// Fills an empty forum; the progress bar counts posts.
pub async fn generate(store: &Store, plan: Plan, bar: ProgressBar) -> anyhow::Result<ImportStats> {
    if !store.is_empty().await? {
        anyhow::bail!("the forum is not empty: generate into a new data directory or database");
    }
    let mut rng = fastrand::Rng::with_seed(plan.seed);
    // A fixed "now" keeps the corpus identical whenever it is made: 2026-11-01.
    let now = 1_793_491_200_000_000;
    let forum = taxonomy(&plan, &mut rng, now);
    let (latin, cjk) = block_pool(&mut rng);
    let mut generator = Generator {
        subtopics: forum
            .areas
            .iter()
            .flat_map(|a| {
                a.subtopics
                    .iter()
                    .map(move |s| format!("{}/{}", a.slug, s.slug))
            })
            .collect(),
        tags: forum.tags.iter().map(|t| t.slug.clone()).collect(),
        users: forum.users.len() as u64,
        staff: forum
            .users
            .iter()
            .filter(|u| u.role.is_staff())
            .map(|u| u.username.clone())
            .collect(),
        rng,
        latin,
        cjk,
        now,
        next_post: 1,
    };
    let user_count = forum.users.len() as u64;
    // A generated corpus is thrown away if generation fails, so indexes can be built at the end.
    let maps = store.bulk_taxonomy(Arc::new(forum), true).await?;

    let total_posts = plan.threads * (plan.replies_per_thread + 1);
    let megathreads: u64 = if total_posts >= 50_000 { 3 } else { 1 };
    let mega_replies = 5_000u64;
    bar.set_length(total_posts + megathreads * mega_replies);
    let progress: Arc<dyn Fn(u64) + Send + Sync> = {
        let bar = bar.clone();
        Arc::new(move |n| bar.set_position(n))
    };
    let mut stats = ImportStats {
        users: user_count,
        ..Default::default()
    };
    let mut pending: Option<tokio::task::JoinHandle<Result<ImportStats, agora_store::StoreError>>> =
        None;
    let mut id = 1i64;
    while (id as u64) <= plan.threads {
        let mut chunk = Vec::with_capacity(CHUNK_THREADS);
        while chunk.len() < CHUNK_THREADS && (id as u64) <= plan.threads {
            let mega = (id as u64) <= megathreads && plan.threads > megathreads;
            let pinned = (id as u64) > megathreads
                && (id as u64) <= megathreads + 2 * generator.subtopics.len() as u64
                && id % 7 == 0;
            let replies = if mega {
                mega_replies + generator.rng.u64(..500)
            } else {
                // Around the asked-for mean: 0 to twice it.
                generator.rng.u64(..=plan.replies_per_thread * 2)
            };
            chunk.push(generator.thread(id, replies, pinned));
            id += 1;
        }
        // Write this chunk while the next one is generated.
        if let Some(previous) = pending.take() {
            let written = previous.await??;
            stats.threads += written.threads;
            stats.posts += written.posts;
        }
        let (store, maps, progress) = (store.clone(), maps.clone(), progress.clone());
        let before = stats.posts;
        pending = Some(tokio::spawn(async move {
            store
                .bulk_threads(Arc::new(chunk), maps, before, progress)
                .await
        }));
    }
    if let Some(previous) = pending.take() {
        let written = previous.await??;
        stats.threads += written.threads;
        stats.posts += written.posts;
    }
    bar.set_message("indexing");
    store.bulk_finish(maps).await?;
    // The blocks were rendered by this build's renderer: the first start must not render a
    // million posts again.
    store.set_markup_version(agora_markup::VERSION).await?;
    bar.finish_with_message("done");
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zipf_prefers_the_first_items() {
        let mut rng = fastrand::Rng::with_seed(1);
        let mut counts = [0usize; 10];
        for _ in 0..10_000 {
            counts[zipf(&mut rng, 10)] += 1;
        }
        assert!(
            counts[0] > counts[1] && counts[1] > counts[4] && counts[4] > counts[9],
            "{counts:?}"
        );
        assert!(counts.iter().all(|c| *c > 0), "{counts:?}");
    }

    #[test]
    fn words_follow_real_frequencies() {
        let mut rng = fastrand::Rng::with_seed(7);
        let mut counts: std::collections::HashMap<&str, usize> = Default::default();
        let draws = 50_000;
        for _ in 0..draws {
            *counts.entry(word(&mut rng)).or_default() += 1;
        }
        // "the" is about one word in twenty of real text; "timeout" no longer a word in ten.
        let the = counts.get("the").copied().unwrap_or(0) as f64 / draws as f64;
        assert!((0.03..0.07).contains(&the), "the: {the}");
        let timeout = counts.get("timeout").copied().unwrap_or(0) as f64 / draws as f64;
        assert!(timeout < 0.01, "timeout: {timeout}");
        assert!(counts.len() > 2_000, "{} distinct words", counts.len());
    }

    #[test]
    fn tag_slugs_are_valid() {
        let mut rng = fastrand::Rng::with_seed(1);
        let forum = taxonomy(
            &Plan {
                threads: 100,
                replies_per_thread: 1,
                seed: 1,
            },
            &mut rng,
            0,
        );
        assert_eq!(forum.tags.len(), TAG_COUNT);
        assert!(
            forum
                .tags
                .iter()
                .all(|t| agora_store::archive::is_slug(&t.slug)),
            "{:?}",
            forum.tags.iter().map(|t| &t.slug).collect::<Vec<_>>()
        );
        let unique: HashSet<&String> = forum.tags.iter().map(|t| &t.slug).collect();
        assert_eq!(unique.len(), TAG_COUNT);
    }
}
