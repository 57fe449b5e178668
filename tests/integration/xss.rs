//! Known XSS payloads, written through every form that stores text and imported through the
//! archive, come out of every page, feed and API answer that shows them inert: no script but
//! our own `/static/` files, no event-handler attribute, no `javascript:`/`vbscript:`/
//! `data:text/html` URL, no frame, plugin, `<base>` or `<meta http-equiv>`, and no form
//! controls or styles inside user content.

use std::collections::BTreeSet;

use agora_store::Role;
use agora_store::archive::Lock;
use axum::http::StatusCode;

use crate::util::{TestApp, TestResponse, attrs, both, demo_archive, texts};

/// The payloads: scripts in many spellings, event handlers, script URLs in HTML and Markdown,
/// frames and plugins, namespace confusion, attribute and element breakouts, template syntax,
/// feed (XML) breakouts, and CJK text around them.
const PAYLOADS: &[&str] = &[
    // Script elements, in many casings and spellings.
    r#"<script>alert(1)</script>"#,
    r#"<SCRIPT>alert(1)</SCRIPT>"#,
    r#"<ScRiPt>alert(1)</sCrIpT>"#,
    r#"<script src=//evil.example/x.js></script>"#,
    r#"<script/src=data:,alert(1)></script>"#,
    r#"<scr<script>ipt>alert(1)</scr</script>ipt>"#,
    r#"<<script>alert(1)//<</script>"#,
    r#"<script>alert(1)//"#,
    r#"%3Cscript%3Ealert(1)%3C/script%3E"#,
    r#"&lt;script&gt;alert(1)&lt;/script&gt;"#,
    r#"&amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt;"#,
    r#"\u003cscript\u003ealert(1)\u003c/script\u003e"#,
    r#"＜script＞alert(1)＜/script＞"#,
    r#"<!--<script>alert(1)//--><!--><script>alert(1)</script>-->"#,
    // Event handlers.
    r#"<img src=x onerror=alert(1)>"#,
    r#"<IMG SRC=x OnErRoR=alert(1)>"#,
    r#"<img src="x" onerror="alert(1)"/>"#,
    r#"<img/src/onerror=alert(1)>"#,
    r#"<img src=x onerror=&#97;&#108;&#101;&#114;&#116;(1)>"#,
    r#"<img src=x:alert(alt) onerror=eval(src) alt=0>"#,
    r#"<svg onload=alert(1)>"#,
    r#"<svg/onload=alert(1)//"#,
    r#"<body onload=alert(1)>"#,
    r#"<details open ontoggle=alert(1)>x</details>"#,
    r#"<input onfocus=alert(1) autofocus>"#,
    r#"<video><source onerror=alert(1)></video>"#,
    r#"<x onclick=alert(1)>click me</x>"#,
    r#"<a href="https://ok.example/" onclick="alert(1)">ok</a>"#,
    // SVG and MathML: namespace confusion and mutation XSS.
    r#"<svg><script>alert(1)</script></svg>"#,
    r#"<svg><a xlink:href="javascript:alert(1)"><text x="20" y="20">XSS</text></a></svg>"#,
    r#"<svg><animate attributeName="href" values="javascript:alert(1)"/></svg>"#,
    r#"<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>"#,
    r#"<math href="javascript:alert(1)">CLICK</math>"#,
    r#"<svg></p><style><a id="</style><img src=1 onerror=alert(1)>">"#,
    r#"<noscript><p title="</noscript><img src=x onerror=alert(1)>">"#,
    // Script URLs in Markdown links and images.
    r#"[x](javascript:alert(1))"#,
    r#"[x](JaVaScRiPt:alert(1))"#,
    r#"[x](&#106;avascript:alert(1))"#,
    r#"[x](&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;&#x3A;alert(1))"#,
    r#"[x](jav&#x09;ascript:alert(1))"#,
    r#"[x](<javascript:alert(1)>)"#,
    r#"[x](javascript://%0aalert(1))"#,
    r#"![x](javascript:alert(1))"#,
    r#"![x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)"#,
    r#"[x](data:text/html,%3Cscript%3Ealert(1)%3C/script%3E)"#,
    r#"[x](vbscript:msgbox(1))"#,
    r#"<javascript:alert(1)>"#,
    "[x][ref]\n\n[ref]: javascript:alert(1)",
    r#"[点击这里](javascript:alert('中文'))"#,
    // Script URLs in HTML attributes, entity-encoded and split by whitespace.
    r#"<a href="javascript:alert(1)">x</a>"#,
    r#"<a href="  JAVASCRIPT:alert(1)">x</a>"#,
    r#"<a href="jav&#x09;ascript:alert(1)">x</a>"#,
    r#"<a href="jav&#x0A;ascript:alert(1)">x</a>"#,
    r#"<a href=" &#14;  javascript:alert(1)">x</a>"#,
    r#"<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>"#,
    r#"<a href="javascript&colon;alert(1)">x</a>"#,
    r#"<a href="javascript&#58alert(1)">x</a>"#,
    r#"<a href="vbscript:msgbox(1)">x</a>"#,
    r#"<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>"#,
    r#"<img src="javascript:alert(1)">"#,
    r#"<img srcset="javascript:alert(1) 1x">"#,
    r#"<table background="javascript:alert(1)"><tr><td>x</td></tr></table>"#,
    // Frames, plugins and other documents.
    r#"<iframe src="javascript:alert(1)"></iframe>"#,
    r#"<iframe srcdoc="<script>alert(1)</script>"></iframe>"#,
    r#"<object data="javascript:alert(1)"></object>"#,
    r#"<object data="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="></object>"#,
    r#"<embed src="data:text/html,<script>alert(1)</script>">"#,
    // Styles.
    r#"<style>body{background:url("javascript:alert(1)")}</style>"#,
    r#"<div style="width:expression(alert(1))">x</div>"#,
    r#"<style>@import 'http://evil.example/x.css';</style>"#,
    r#"<link rel=stylesheet href="javascript:alert(1)">"#,
    // Breaking out of attributes and elements our templates put text in.
    r#""><script>alert(1)</script>"#,
    r#"'><script>alert(1)</script>"#,
    r#"" onmouseover="alert(1)"#,
    r#"' onmouseover='alert(1)"#,
    r#"" autofocus onfocus="alert(1)" x=""#,
    r#"</title><script>alert(1)</script>"#,
    r#"</textarea><script>alert(1)</script>"#,
    r#"</option></select><img src=x onerror=alert(1)>"#,
    r#"</p></div></li></ol></main><script>alert(1)</script>"#,
    // Navigation and forms.
    r#"<meta http-equiv="refresh" content="0;url=javascript:alert(1)">"#,
    r#"<base href="javascript:alert(1)//">"#,
    r#"<form action="javascript:alert(1)"><button>go</button></form>"#,
    r#"<button formaction="javascript:alert(1)">x</button>"#,
    r#"<isindex action=javascript:alert(1) type=image>"#,
    // Template and expression syntax (must come out literally).
    r#"{{7*7}} {{ constructor.constructor('alert(1)')() }}"#,
    r#"{% raw %}{{ self }}{% endraw %} ${7*7} #{7*7} <%= 7*7 %>"#,
    // Code spans and blocks: highlighted, never executed.
    r#"`<script>alert(1)</script>`"#,
    "```html\n<script>alert(1)</script>\n<img src=x onerror=alert(1)>\n```",
    // Feed (XML) breakouts.
    r#"<![CDATA[<script>alert(1)</script>]]>"#,
    r#"]]><script>alert(1)</script><![CDATA["#,
    r#"</description><description><script>alert(1)</script>"#,
    // CJK text mixed with payloads.
    r#"中文标题<script>alert('漢字')</script>测试"#,
    r#"日本語 <img src=x onerror=alert('テスト')> 한국어"#,
    r#"轮询接口"><svg onload=alert('轮询')>"#,
];

const SUBTOPIC: &str = "app-system-services/networking";
const NETWORKING: &str = "/topics/app-system-services/networking";

/// Attributes whose value is a URL a browser may load or navigate to.
const URL_ATTRS: &[&str] = &[
    "href",
    "src",
    "action",
    "formaction",
    "data",
    "poster",
    "background",
    "cite",
    "codebase",
    "dynsrc",
    "lowsrc",
    "longdesc",
    "ping",
    "icon",
    "manifest",
    "archive",
    "usemap",
    "values",
    "from",
    "to",
    "by",
    "srcset",
];

/// Elements that must never appear in a page or in feed HTML.
const BANNED: &[&str] = &[
    "iframe", "frame", "frameset", "object", "embed", "applet", "base", "portal", "isindex",
];

/// Elements that have no place inside user content (post bodies, signatures, feed HTML).
const NOT_IN_USER_CONTENT: &[&str] = &[
    "form", "input", "button", "textarea", "select", "option", "style", "link", "meta",
];

/// Classes of the page elements that hold rendered user content.
const USER_CONTENT_CLASSES: &[&str] = &["post-body", "signature"];

/// A URL a browser would run or render as a document from the forum's origin.
fn is_script_url(value: &str) -> bool {
    let url: String = value
        .trim()
        .chars()
        .filter(|c| !(c.is_ascii_whitespace() || c.is_ascii_control()))
        .collect::<String>()
        .to_ascii_lowercase();
    ["javascript:", "vbscript:", "livescript:", "data:text/html"]
        .iter()
        .any(|scheme| url.starts_with(scheme))
}

fn short(text: &str, max: usize) -> String {
    let mut out: String = text.chars().take(max).collect();
    if text.chars().count() > max {
        out.push('…');
    }
    out
}

/// Everything wrong with one HTML document (`fragment`: feed or API HTML, all user content).
fn html_violations(source: &str, fragment: bool) -> Vec<String> {
    let doc = if fragment {
        scraper::Html::parse_fragment(source)
    } else {
        scraper::Html::parse_document(source)
    };
    let all = scraper::Selector::parse("*").unwrap_or_else(|e| panic!("selector: {e}"));
    let mut found = Vec::new();
    for el in doc.select(&all) {
        let e = el.value();
        let name = e.name().to_ascii_lowercase();
        let ancestor = |test: &dyn Fn(&scraper::node::Element) -> bool| {
            el.ancestors()
                .any(|a| a.value().as_element().is_some_and(test))
        };
        let in_body = fragment || ancestor(&|a| a.name() == "body");
        let in_user =
            fragment || ancestor(&|a| a.classes().any(|c| USER_CONTENT_CLASSES.contains(&c)));
        let what = || short(&el.html(), 160);
        if name == "script" {
            let ours = !fragment
                && e.attr("src").is_some_and(|s| s.starts_with("/static/"))
                && el.text().all(|t| t.trim().is_empty());
            if !ours {
                found.push(format!("a <script> element: {}", what()));
            }
        }
        if BANNED.contains(&name.as_str()) {
            found.push(format!("a <{name}> element: {}", what()));
        }
        if name == "meta" && e.attr("http-equiv").is_some() {
            found.push(format!("a <meta http-equiv>: {}", what()));
        }
        if in_body && matches!(name.as_str(), "meta" | "link" | "style") {
            found.push(format!("a <{name}> in the body: {}", what()));
        }
        // GitHub-flavoured task lists render as disabled checkboxes, named by one of two fixed
        // labels: inert.
        let task_box = name == "input"
            && e.attr("type") == Some("checkbox")
            && e.attr("disabled").is_some()
            && e.attrs().all(|(a, v)| {
                matches!(a, "type" | "disabled" | "checked" | "class")
                    || (a == "aria-label" && matches!(v, "Completed task" | "Incomplete task"))
            });
        if in_user && NOT_IN_USER_CONTENT.contains(&name.as_str()) && !task_box {
            found.push(format!("a <{name}> inside user content: {}", what()));
        }
        for (attr, value) in e.attrs() {
            let attr = attr.to_ascii_lowercase();
            if attr.starts_with("on") {
                found.push(format!("an event-handler attribute {attr}: {}", what()));
            }
            if attr == "srcdoc" {
                found.push(format!("a srcdoc attribute: {}", what()));
            }
            if URL_ATTRS.contains(&attr.as_str()) {
                let urls: Vec<&str> = if attr == "srcset" {
                    value
                        .split(',')
                        .filter_map(|c| c.split_whitespace().next())
                        .collect()
                } else {
                    vec![value]
                };
                if urls.iter().any(|u| is_script_url(u)) {
                    found.push(format!("a script URL in {attr}: {}", what()));
                }
            }
            if attr == "style" {
                let style: String = value
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .collect::<String>()
                    .to_ascii_lowercase();
                if ["expression(", "javascript:", "behavior:", "-moz-binding"]
                    .iter()
                    .any(|bad| style.contains(bad))
                {
                    found.push(format!("a scripting style attribute: {}", what()));
                }
            }
        }
    }
    found
}

/// Counts and failures over one test.
#[derive(Default)]
struct Scan {
    failures: Vec<String>,
    documents: usize,
    elements_feeds: usize,
}

impl Scan {
    fn fail(&mut self, context: &str, problem: impl std::fmt::Display) {
        self.failures.push(format!("{context}: {problem}"));
    }

    /// A full HTML page (or a form shown again): security headers and the DOM rules.
    fn page(&mut self, context: &str, response: &TestResponse) {
        self.documents += 1;
        let csp = response.header("content-security-policy").unwrap_or("");
        if !csp.contains("script-src 'self'") || csp.contains("unsafe-inline") {
            self.fail(context, format!("weak or missing CSP {csp:?}"));
        }
        let mime = response.header("content-type").unwrap_or("");
        if !response.body.is_empty() && !mime.starts_with("text/html") {
            self.fail(context, format!("content-type {mime:?} for a page"));
            return;
        }
        for problem in html_violations(&response.text(), false) {
            self.fail(context, problem);
        }
    }

    /// A GET that must answer 200 with a page.
    fn ok_page(&mut self, context: &str, response: &TestResponse) -> Option<String> {
        if response.status != StatusCode::OK {
            self.fail(
                context,
                format!(
                    "status {} ({})",
                    response.status,
                    short(&response.text(), 300)
                ),
            );
            return None;
        }
        self.page(context, response);
        Some(page_text(&response.html()))
    }

    /// A feed: parsed without sanitising, every entry's HTML checked. Returns the entry titles.
    fn feed(&mut self, context: &str, response: &TestResponse) -> Vec<String> {
        if response.status != StatusCode::OK {
            self.fail(context, format!("status {}", response.status));
            return Vec::new();
        }
        self.documents += 1;
        let parser = feed_rs::parser::Builder::new()
            .sanitize_content(false)
            .build();
        let feed = match parser.parse(response.body.as_slice()) {
            Ok(feed) => feed,
            Err(e) => {
                self.fail(context, format!("the feed does not parse: {e}"));
                return Vec::new();
            }
        };
        let html_text = |t: &feed_rs::model::Text| {
            let mime: &str = t.content_type.as_ref();
            (!mime.starts_with("text/plain")).then(|| t.content.clone())
        };
        let mut titles = Vec::new();
        let mut fragments: Vec<(String, String)> = Vec::new();
        for part in [&feed.title, &feed.description].into_iter().flatten() {
            if let Some(html) = html_text(part) {
                fragments.push(("the feed's title/description".into(), html));
            }
        }
        for (n, entry) in feed.entries.iter().enumerate() {
            self.elements_feeds += 1;
            if let Some(title) = &entry.title {
                titles.push(title.content.clone());
                if let Some(html) = html_text(title) {
                    fragments.push((format!("entry {n} title"), html));
                }
            }
            if let Some(summary) = &entry.summary
                && let Some(html) = html_text(summary)
            {
                fragments.push((format!("entry {n} summary"), html));
            }
            if let Some(body) = entry.content.as_ref().and_then(|c| c.body.clone()) {
                fragments.push((format!("entry {n} content"), body));
            }
        }
        for (part, html) in fragments {
            for problem in html_violations(&html, true) {
                self.fail(&format!("{context} ({part})"), problem);
            }
        }
        titles
    }

    /// A JSON answer: served as JSON, not sniffable, every `*html` string checked as HTML.
    fn json(&mut self, context: &str, response: &TestResponse) -> Option<serde_json::Value> {
        if response.status != StatusCode::OK {
            self.fail(context, format!("status {}", response.status));
            return None;
        }
        self.documents += 1;
        let mime = response.header("content-type").unwrap_or("");
        if !mime.starts_with("application/json") {
            self.fail(context, format!("content-type {mime:?}"));
        }
        if response.header("x-content-type-options") != Some("nosniff") {
            self.fail(context, "no X-Content-Type-Options: nosniff");
        }
        let value: serde_json::Value = match serde_json::from_slice(&response.body) {
            Ok(v) => v,
            Err(e) => {
                self.fail(context, format!("not JSON: {e}"));
                return None;
            }
        };
        let mut found = Vec::new();
        json_violations(&value, "$", &mut found);
        for problem in found {
            self.fail(context, problem);
        }
        Some(value)
    }

    /// A form post that must be accepted (303); a refusal's page is checked all the same.
    fn accepted(&mut self, context: &str, response: &TestResponse) -> bool {
        if !response.body.is_empty() {
            self.page(context, response);
        }
        if response.status == StatusCode::SEE_OTHER {
            true
        } else {
            self.fail(
                context,
                format!(
                    "expected 303, got {} ({})",
                    response.status,
                    short(&page_text(&response.html()), 300)
                ),
            );
            false
        }
    }

    fn finish(self, summary: &str) {
        eprintln!("{summary}");
        if !self.failures.is_empty() {
            let total = self.failures.len();
            let unique: BTreeSet<&String> = self.failures.iter().collect();
            let listed: Vec<&str> = unique.iter().take(60).map(|s| s.as_str()).collect();
            panic!(
                "{total} XSS check failures ({} distinct; first {} below):\n{}",
                unique.len(),
                listed.len(),
                listed.join("\n")
            );
        }
    }
}

fn json_violations(value: &serde_json::Value, path: &str, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                let here = format!("{path}.{key}");
                if key.ends_with("html")
                    && let Some(html) = v.as_str()
                {
                    for problem in html_violations(html, true) {
                        out.push(format!("{here}: {problem}"));
                    }
                }
                json_violations(v, &here, out);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                json_violations(v, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// A page's visible text, whitespace collapsed.
fn page_text(html: &scraper::Html) -> String {
    html.root_element()
        .text()
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Text with its whitespace collapsed, as `texts` gives it.
fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// One line of text, as a browser's `<input>` would send it.
fn one_line(text: &str) -> String {
    text.replace(['\n', '\r', '\t'], " ")
}

/// The thread id in a `/thread/{id}/…` location.
fn thread_id(location: &str) -> Option<i64> {
    let rest = &location[location.find("/thread/")? + "/thread/".len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// A place that holds one payload: thread title, post body, …
const FORM_PLACES: &[&str] = &[
    "thread title",
    "opening post body",
    "reply body",
    "edited body",
    "edit reason",
    "flag reason",
    "hide reason",
    "lock reason",
    "display name",
    "signature",
];

both!(
    /// Every payload through every form that stores text, then every page, feed and API answer
    /// that shows it, as a visitor, the author (an admin: no new-account limits), and a
    /// moderator.
    async fn payloads_written_through_forms_stay_inert(b: Backend) {
        let app = TestApp::demo(b).await;
        let poster = app.person("xposter", Role::Admin).await;
        let warden = app.person("xwarden", Role::Moderator).await;
        let mut scan = Scan::default();
        let mut display_names_refused = 0;
        for (i, payload) in PAYLOADS.iter().enumerate() {
            let at = format!("payload #{i} {payload:?}");
            let title = format!("T{i} {}", one_line(payload));
            let body = format!("Payload {i} in a post.\n\n{payload}\n\nEnd of payload {i}.");
            let kind = if i % 2 == 0 { "question" } else { "discussion" };
            let thread_fields = [
                ("subtopic", SUBTOPIC),
                ("title", title.as_str()),
                ("tags", "network"),
                ("kind", kind),
                ("body", body.as_str()),
            ];

            // A preview of the new thread, then the thread.
            let mut with_preview = thread_fields.to_vec();
            with_preview.push(("preview", "1"));
            let preview = app
                .post_form("/new", Some(poster.cookie.as_str()), &with_preview)
                .await;
            scan.ok_page(&format!("{at}: POST /new (preview)"), &preview);
            let created = app
                .post_form("/new", Some(poster.cookie.as_str()), &thread_fields)
                .await;
            if !scan.accepted(&format!("{at}: POST /new"), &created) {
                continue;
            }
            let Some(id) = created.header("location").and_then(thread_id) else {
                scan.fail(&at, "POST /new: no /thread/{id} location");
                continue;
            };

            // Two replies (one to edit, one to hide), the first previewed.
            let reply_path = format!("/thread/{id}/reply");
            let reply = format!("R{i} reply:\n\n{payload}");
            let preview = app
                .post_form(
                    &reply_path,
                    Some(poster.cookie.as_str()),
                    &[("body", &reply), ("preview", "1")],
                )
                .await;
            scan.ok_page(&format!("{at}: POST {reply_path} (preview)"), &preview);
            for body in [reply.as_str(), "A reply a moderator will hide."] {
                let response = app
                    .post_form(&reply_path, Some(poster.cookie.as_str()), &[("body", body)])
                    .await;
                scan.accepted(&format!("{at}: POST {reply_path}"), &response);
            }
            let api_path = format!("/api/v1/threads/{id}");
            let Some(json) = scan.json(&format!("{at}: GET {api_path}"), &app.get(&api_path).await)
            else {
                continue;
            };
            let ids: Vec<i64> = json["posts"]
                .as_array()
                .map(|posts| posts.iter().filter_map(|p| p["id"].as_i64()).collect())
                .unwrap_or_default();
            let thread_url = json["thread"]["url"].as_str().unwrap_or("").to_string();
            let [opening, first, second] = ids[..] else {
                scan.fail(
                    &at,
                    format!("expected three posts in {api_path}, got {ids:?}"),
                );
                continue;
            };

            // Edit the first reply with a reason.
            let edit_path = format!("/posts/{first}/edit");
            let edited = format!("R{i} edited:\n\n{payload}\n\nnow edited");
            let reason = format!("E{i} {}", one_line(payload));
            let response = app
                .post_form(
                    &edit_path,
                    Some(poster.cookie.as_str()),
                    &[("body", &edited), ("reason", &reason)],
                )
                .await;
            scan.accepted(&format!("{at}: POST {edit_path}"), &response);

            // A moderator flags the opening post, hides the second reply, locks the thread.
            for (path, reason) in [
                (format!("/posts/{opening}/flag"), format!("F{i} {payload}")),
                (format!("/posts/{second}/hide"), format!("H{i} {payload}")),
                (format!("/thread/{id}/lock"), format!("L{i} {payload}")),
            ] {
                let response = app
                    .post_form(&path, Some(warden.cookie.as_str()), &[("reason", &reason)])
                    .await;
                scan.accepted(&format!("{at}: POST {path}"), &response);
            }

            // The author's display name and signature.
            let display: String = format!("D{i} {}", one_line(payload))
                .chars()
                .take(60)
                .collect();
            let signature = format!("S{i} {payload}");
            let response = app
                .post_form(
                    "/settings/profile",
                    Some(poster.cookie.as_str()),
                    &[("display_name", &display), ("signature", &signature)],
                )
                .await;
            if response.status == StatusCode::BAD_REQUEST {
                // A display name may be refused (length, characters); the form shown again
                // must be inert, and the signature must still be stored.
                display_names_refused += 1;
                scan.page(
                    &format!("{at}: POST /settings/profile (refused)"),
                    &response,
                );
                let fallback = format!("D{i}");
                let response = app
                    .post_form(
                        "/settings/profile",
                        Some(poster.cookie.as_str()),
                        &[("display_name", &fallback), ("signature", &signature)],
                    )
                    .await;
                scan.accepted(&format!("{at}: POST /settings/profile"), &response);
            } else {
                scan.accepted(&format!("{at}: POST /settings/profile"), &response);
            }

            // Every page that shows them.
            let thread_page = if thread_url.is_empty() {
                format!("/thread/{id}")
            } else {
                thread_url.clone()
            };
            let as_poster = [
                thread_page.clone(),
                NETWORKING.to_string(),
                "/settings".to_string(),
                "/audit".to_string(),
                edit_path.clone(),
                format!("/posts/{opening}/edit"),
                format!("{reply_path}?quote={first}"),
            ];
            for path in &as_poster {
                let response = app.get_as(path, &poster).await;
                scan.ok_page(
                    &format!("{at}: GET {path} as the author (admin)"),
                    &response,
                );
            }
            for start in [thread_page.clone(), "/review".to_string()] {
                let mut path = start.clone();
                loop {
                    let response = app.get_as(&path, &warden).await;
                    let text = scan.ok_page(&format!("{at}: GET {path} as a moderator"), &response);
                    // The queue runs oldest first: the newest flag is on its last page.
                    let next = attrs(&response.html(), "nav.pager a[rel=next]", "href");
                    if start == "/review"
                        && let Some(next) = next.into_iter().next()
                    {
                        path = next;
                        continue;
                    }
                    if start == "/review"
                        && let Some(text) = text
                        && !text.contains(&format!("F{i} "))
                    {
                        scan.fail(&at, "the review queue does not show the flag's reason");
                    }
                    break;
                }
            }
            let revisions = format!("/posts/{first}/revisions");
            let user = format!("/users/{}", poster.username);
            for path in [
                thread_page.as_str(),
                NETWORKING,
                "/tags/network",
                user.as_str(),
                revisions.as_str(),
                "/",
            ] {
                let response = app.get(path).await;
                let Some(text) = scan.ok_page(&format!("{at}: GET {path}"), &response) else {
                    continue;
                };
                if path == thread_page {
                    let shown = texts(&response.html(), ".thread-title");
                    if shown.first() != Some(&collapse(&title)) {
                        scan.fail(
                            &format!("{at}: GET {path}"),
                            format!("the title reads {shown:?}, not {:?}", collapse(&title)),
                        );
                    }
                }
                let expected: Vec<String> = if path == thread_page {
                    vec![format!("T{i} "), format!("L{i} "), format!("R{i} ")]
                } else if path == NETWORKING {
                    vec![format!("T{i} ")]
                } else if path == revisions {
                    vec![format!("E{i} ")]
                } else {
                    Vec::new()
                };
                for marker in &expected {
                    if !text.contains(marker.as_str()) {
                        scan.fail(
                            &format!("{at}: GET {path}"),
                            format!("{marker:?} is not shown"),
                        );
                    }
                }
            }
            for path in [
                format!("{NETWORKING}/feed.rss"),
                format!("{NETWORKING}/feed.atom"),
                "/tags/network/feed.rss".to_string(),
                "/tags/network/feed.atom".to_string(),
                format!("/thread/{id}/feed.rss"),
                format!("/thread/{id}/feed.atom"),
            ] {
                let titles = scan.feed(&format!("{at}: GET {path}"), &app.get(&path).await);
                if path.starts_with(NETWORKING)
                    && !titles.iter().any(|t| t.starts_with(&format!("T{i} ")))
                {
                    scan.fail(
                        &format!("{at}: GET {path}"),
                        "the new thread is not in the feed",
                    );
                }
            }
            for path in [
                api_path.clone(),
                format!("/api/v1/topics/{SUBTOPIC}/threads"),
                format!("/api/v1/users/{}", poster.username),
                format!("/api/v1/posts/{first}/revisions"),
            ] {
                scan.json(&format!("{at}: GET {path}"), &app.get(&path).await);
            }
        }
        let summary = format!(
            "xss ({b:?}): {} payloads × {} places = {} stored values; {} pages, feeds and API \
             answers scanned ({} feed entries); {display_names_refused} display names refused",
            PAYLOADS.len(),
            FORM_PLACES.len(),
            PAYLOADS.len() * FORM_PLACES.len(),
            scan.documents,
            scan.elements_feeds,
        );
        scan.finish(&summary);
    }
);

/// Payloads spread over a list, `n` at a time from `start`, joined into one text.
fn joined(start: usize, step: usize) -> String {
    PAYLOADS
        .iter()
        .skip(start)
        .step_by(step)
        .copied()
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn at_most(text: &str, chars: usize) -> String {
    text.chars().take(chars).collect()
}

/// Places the archive payloads go into.
const ARCHIVE_PLACES: &[&str] = &[
    "tag name",
    "tag description",
    "area name",
    "area description",
    "subtopic name",
    "subtopic description",
    "display name",
    "staff title",
    "signature",
    "thread title",
    "post body",
    "lock reason",
    "revision reason",
];

both!(
    /// Text only the archive (and so the demo) writes — tag names and descriptions, areas,
    /// subtopics, staff titles — and every other archive field that reaches a page, carrying
    /// the payloads, imported and then read through every page, feed and API answer.
    async fn payloads_imported_from_an_archive_stay_inert(b: Backend) {
        let n = PAYLOADS.len();
        let mut archive = demo_archive();
        for (i, payload) in PAYLOADS.iter().enumerate() {
            archive.tags.push(agora_store::archive::Tag {
                slug: format!("x{i}"),
                name: at_most(payload, 50),
                description: format!("X{i} {payload}"),
            });
        }
        let thread_count = archive.threads.len();
        for (k, thread) in archive.threads.iter_mut().enumerate() {
            thread.tags = (k * 5..(k * 5 + 5).min(n))
                .map(|i| format!("x{i}"))
                .collect();
            thread.title = at_most(&format!("{} {}", thread.title, PAYLOADS[k % n]), 300);
            // Bodies of every post carry payloads too (the import renders them).
            for (p, post) in thread.posts.iter_mut().enumerate() {
                post.body = format!("{}\n\n{}", post.body, PAYLOADS[(k + p * 7) % n]);
                // The last revision is the post as it stands.
                if let Some(last) = post.revisions.last_mut() {
                    last.body = post.body.clone();
                }
                for (r, revision) in post.revisions.iter_mut().enumerate().skip(1) {
                    revision.reason = Some(PAYLOADS[(k + r * 11) % n].to_string());
                }
            }
            let last = thread.posts.last().map(|p| p.created_at);
            if let (true, Some(at)) = (k % 3 == 0 || thread.locked.is_some(), last) {
                thread.locked = Some(Lock {
                    at,
                    by: "hlindqvist".into(),
                    reason: joined(k % thread_count, thread_count),
                });
            }
        }
        let users = archive.users.len();
        for (k, user) in archive.users.iter_mut().enumerate() {
            user.display_name = at_most(PAYLOADS[(k * 3) % n], 80);
            user.staff_title = Some(PAYLOADS[(k * 3 + 1) % n].to_string());
            user.signature = at_most(&joined(k, users), 2000);
        }
        let areas = archive.areas.len();
        for (a, area) in archive.areas.iter_mut().enumerate() {
            area.name = at_most(&format!("{} {}", area.name, PAYLOADS[(a * 5) % n]), 100);
            area.description = joined(a, areas);
            let subs = area.subtopics.len();
            for (s, sub) in area.subtopics.iter_mut().enumerate() {
                sub.name = at_most(&format!("{} {}", sub.name, PAYLOADS[(s * 13 + a) % n]), 100);
                sub.description = joined((s + a) % subs, subs);
            }
        }
        let titles: Vec<(i64, String)> = archive
            .threads
            .iter()
            .map(|t| (t.id, collapse(&t.title)))
            .collect();
        let app = TestApp::with_archive(b, archive).await;
        let mut scan = Scan::default();

        let mut pages = vec!["/".to_string(), "/tags".to_string()];
        for i in 0..n {
            pages.push(format!("/tags/x{i}"));
        }
        let mut feeds = Vec::new();
        for i in 0..n {
            feeds.push(format!("/tags/x{i}/feed.rss"));
            feeds.push(format!("/tags/x{i}/feed.atom"));
        }
        let mut apis = vec!["/api/v1/areas".to_string(), "/api/v1/tags".to_string()];
        for i in (0..n).step_by(7) {
            apis.push(format!("/api/v1/tags/x{i}/threads"));
        }
        let Some(areas) = scan.json("GET /api/v1/areas", &app.get("/api/v1/areas").await) else {
            return scan.finish("xss (archive): /api/v1/areas failed");
        };
        for area in areas
            .as_array()
            .into_iter()
            .flatten()
            .chain(areas["areas"].as_array().into_iter().flatten())
        {
            for sub in area["subtopics"].as_array().into_iter().flatten() {
                if let Some(url) = sub["url"].as_str() {
                    pages.push(url.to_string());
                    feeds.push(format!("{url}/feed.rss"));
                    feeds.push(format!("{url}/feed.atom"));
                    apis.push(format!("/api/v1{url}/threads"));
                }
            }
        }
        let mut users = BTreeSet::new();
        for (id, title) in &titles {
            let (path, response) = app.follow(&format!("/thread/{id}")).await;
            if scan.ok_page(&format!("GET {path}"), &response).is_some() {
                // Escaped once, exactly: the reader sees the title as written.
                let shown = texts(&response.html(), ".thread-title");
                if shown.first() != Some(title) {
                    scan.fail(
                        &format!("GET {path}"),
                        format!("the title reads {shown:?}, not {title:?}"),
                    );
                }
            }
            feeds.push(format!("/thread/{id}/feed.rss"));
            feeds.push(format!("/thread/{id}/feed.atom"));
            let api = format!("/api/v1/threads/{id}");
            if let Some(json) = scan.json(&format!("GET {api}"), &app.get(&api).await) {
                for post in json["posts"].as_array().into_iter().flatten() {
                    if let Some(url) = post["author"]["url"].as_str() {
                        users.insert(url.to_string());
                    }
                    if let Some(url) = post["revisions_url"].as_str() {
                        pages.push(url.to_string());
                        apis.push(format!("/api/v1{url}"));
                    }
                }
            }
        }
        for url in users {
            apis.push(format!("/api/v1{url}"));
            pages.push(url);
        }
        for path in &pages {
            scan.ok_page(&format!("GET {path}"), &app.get(path).await);
        }
        for path in &feeds {
            scan.feed(&format!("GET {path}"), &app.get(path).await);
        }
        for path in &apis {
            scan.json(&format!("GET {path}"), &app.get(path).await);
        }
        let summary = format!(
            "xss archive ({b:?}): {n} payloads over {} places; {} pages, feeds and API answers \
             scanned ({} feed entries)",
            ARCHIVE_PLACES.len(),
            scan.documents,
            scan.elements_feeds,
        );
        scan.finish(&summary);
    }
);

#[test]
fn the_checker_catches_what_it_should() {
    for (html, caught) in [
        ("<p>hi</p>", false),
        ("<script>alert(1)</script>", true),
        ("<img src=x onerror=alert(1)>", true),
        ("<a href=\"jav\tascript:alert(1)\">x</a>", true),
        ("<a href=\"&#x20;JaVaScRiPt:alert(1)\">x</a>", true),
        ("<a href=\"data:text/html;base64,AAAA\">x</a>", true),
        ("<a href=\"https://example.com/javascript:x\">x</a>", false),
        (
            "<svg><a xlink:href=\"javascript:alert(1)\">x</a></svg>",
            true,
        ),
        ("<img srcset=\"ok.png 1x, javascript:alert(1) 2x\">", true),
        ("<iframe></iframe>", true),
        ("<meta http-equiv=refresh content=0>", true),
        ("<div style=\"width: expression(alert(1))\">x</div>", true),
        ("<form><button>x</button></form>", true),
        ("&lt;script&gt;alert(1)&lt;/script&gt;", false),
    ] {
        assert_eq!(
            !html_violations(html, true).is_empty(),
            caught,
            "{html}: {:?}",
            html_violations(html, true)
        );
    }
    let page = "<!doctype html><html><head><script src=\"/static/app.js\"></script>\
                <meta name=\"description\" content=\"x\"></head><body><form action=\"/new\">\
                <input name=\"title\"></form><div class=\"post-body\"><p>ok</p></div></body></html>";
    assert_eq!(html_violations(page, false), Vec::<String>::new());
    let bad = "<!doctype html><html><head></head><body><div class=\"post-body\"><form></form>\
               </div><script src=\"https://evil.example/x.js\"></script></body></html>";
    assert_eq!(html_violations(bad, false).len(), 2, "{bad}");
}
