//! Markdown to safe HTML: rendered once when a post is written or imported, never per request.
//!
//! The pipeline is CommonMark + GFM (comrak) → fenced code highlighted with CSS classes
//! (syntect, classes prefixed `hl-`) → an allow-list sanitiser (ammonia) that removes scripts,
//! event handlers, `javascript:`/`data:` URLs and foreign classes, and marks every link
//! `rel="nofollow ugc noopener"`. The Markdown source is kept by the caller for editing.
//!
//! Accessibility is made here too, so every stored post has it: code blocks are focusable
//! (`<pre tabindex="0">`, so a keyboard can scroll a wide one) and task-list checkboxes carry
//! a name (`aria-label="Completed task"` or `"Incomplete task"`). The sanitiser lets exactly
//! those values through on exactly those elements, and nothing else of their kind.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt::{self, Write as _};
use std::sync::OnceLock;

use comrak::html::{ChildRendering, Context};
use comrak::nodes::{AstNode, NodeValue};
use comrak::options::Plugins;
use comrak::{Arena, Options, parse_document};
use syntect::html::{ClassStyle, ClassedHTMLGenerator};
use syntect::parsing::SyntaxSet;
use syntect::util::LinesWithEndings;

/// Prefix of every class the highlighter emits; the sanitiser keeps only these.
const HL_PREFIX: &str = "hl-";
/// Ids inside user content get this prefix so they cannot clash with the page's own.
const ID_PREFIX: &str = "user-content-";
/// Code blocks larger than this are shown unhighlighted (highlighting is superlinear on
/// pathological input and a post must render in bounded time).
const MAX_HIGHLIGHT_BYTES: usize = 64 * 1024;

/// The accessible names of task-list checkboxes, checked and not: the only `aria-label`
/// values the sanitiser keeps.
const TASK_DONE: &str = "Completed task";
const TASK_OPEN: &str = "Incomplete task";

/// Renders Markdown to sanitised HTML.
pub fn render(markdown: &str) -> String {
    render_with_mentions(markdown, &Mentionable::new())
}

/// The members a text may mention: each `@name` as written (see [`mention_candidates`]) that
/// names a member, with that member's username (for the link to their profile).
pub type Mentionable = HashMap<String, String>;

/// How a mention's link is marked in the tree, until `format_node` writes it as a link to
/// `/users/NAME` with the class `mention`.
const MENTION_URL: &str = "agora-mention:/users/";

/// The longest and shortest name a mention may carry (as usernames: 2–30 characters).
const MENTION_CHARS: (usize, usize) = (2, 30);

fn name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// Every `@name` in `text`, as (byte range of the whole `@name`, the name): an `@` at the start
/// or after a character that cannot be part of a name or an address (so `a@b.example` is no
/// mention), then letters or digits of any script, `_`, `.` or `-`, without a trailing `.` or
/// `-` (the end of a sentence).
fn mentions_in(text: &str) -> Vec<(std::ops::Range<usize>, &str)> {
    let mut found = Vec::new();
    let mut previous: Option<char> = None;
    for (at, c) in text.char_indices() {
        let starts = c == '@' && previous.is_none_or(|p| !name_char(p) && p != '@' && p != '/');
        previous = Some(c);
        if !starts {
            continue;
        }
        let rest = &text[at + 1..];
        let end = rest.find(|c: char| !name_char(c)).unwrap_or(rest.len());
        let name = rest[..end].trim_end_matches(['.', '-']);
        let n = name.chars().count();
        if (MENTION_CHARS.0..=MENTION_CHARS.1).contains(&n)
            && name.chars().next().is_some_and(char::is_alphanumeric)
        {
            found.push((at..at + 1 + name.len(), name));
        }
    }
    found
}

/// Whether `node` sits where a mention is not one: in a link (it already goes somewhere), an
/// image's text, or raw HTML. Code is never text, so it never holds one.
fn outside_mentions<'a>(node: &'a AstNode<'a>) -> bool {
    node.ancestors().skip(1).any(|a| {
        matches!(
            a.data().value,
            NodeValue::Link(_) | NodeValue::Image(_) | NodeValue::HtmlInline(_)
        )
    })
}

/// Whether `node` is inside a quotation, or in the "@name wrote:" line that introduces one (a
/// quote notifies as a quote, and a mention quoted from someone else notifies nobody).
fn quoted<'a>(node: &'a AstNode<'a>) -> bool {
    node.ancestors().skip(1).any(|a| match a.data().value {
        NodeValue::BlockQuote => true,
        NodeValue::Paragraph => quote_header(a),
        _ => false,
    })
}

/// Whether a paragraph is a quotation's "@name wrote:" line: it ends so, and a quotation
/// follows.
fn quote_header<'a>(paragraph: &'a AstNode<'a>) -> bool {
    let quotation_follows = paragraph
        .next_sibling()
        .is_some_and(|n| matches!(n.data().value, NodeValue::BlockQuote));
    quotation_follows && paragraph_text(paragraph).trim_end().ends_with("wrote:")
}

fn paragraph_text<'a>(paragraph: &'a AstNode<'a>) -> String {
    let mut text = String::new();
    for part in paragraph.descendants() {
        if let NodeValue::Text(t) = &part.data().value {
            text.push_str(t);
        }
    }
    text
}

/// Every `@name` a Markdown text might mention, as written, outside code and links (a
/// mention's candidates, for looking up which are members before rendering).
pub fn mention_candidates(markdown: &str) -> Vec<String> {
    names_in_text(markdown, false)
}

/// The `@name`s that mention someone: outside code, links and quotations (the ones that
/// notify).
pub fn mentions(markdown: &str) -> Vec<String> {
    names_in_text(markdown, true)
}

fn names_in_text(markdown: &str, skip_quoted: bool) -> Vec<String> {
    let arena = Arena::new();
    let root = parse_document(&arena, markdown, &options());
    let mut names: Vec<String> = Vec::new();
    for node in root.descendants() {
        let text = match &node.data().value {
            NodeValue::Text(text) => text.to_string(),
            _ => continue,
        };
        if outside_mentions(node) || (skip_quoted && quoted(node)) {
            continue;
        }
        for (_, name) in mentions_in(&text) {
            if !names.iter().any(|n| n == name) {
                names.push(name.to_string());
            }
        }
    }
    names
}

/// The people a post quotes: the `@name` of each "@name wrote:" line right before a
/// quotation (how the forum's Quote writes one, linked or bold).
pub fn quoted_names(markdown: &str) -> Vec<String> {
    let arena = Arena::new();
    let root = parse_document(&arena, markdown, &options());
    let mut names: Vec<String> = Vec::new();
    for node in root.descendants() {
        if !matches!(node.data().value, NodeValue::BlockQuote) {
            continue;
        }
        let Some(before) = node.previous_sibling() else {
            continue;
        };
        if !matches!(before.data().value, NodeValue::Paragraph) {
            continue;
        }
        let text = paragraph_text(before);
        let text = text.trim();
        if let Some(head) = text.strip_suffix("wrote:")
            && let Some((_, name)) = mentions_in(head.trim()).first()
            && !names.iter().any(|n| n == name)
        {
            names.push(name.to_string());
        }
    }
    names
}

/// Turns each known `@name` in text nodes into a link to the member's profile
/// (`<a class="mention" href="/users/NAME">`), leaving links, images and code alone.
fn link_mentions<'a>(arena: &'a Arena<'a>, root: &'a AstNode<'a>, members: &Mentionable) {
    let texts: Vec<&'a AstNode<'a>> = root
        .descendants()
        .filter(|n| matches!(n.data().value, NodeValue::Text(_)))
        .filter(|n| !outside_mentions(n))
        .collect();
    for node in texts {
        let text = match &node.data().value {
            NodeValue::Text(text) => text.to_string(),
            _ => continue,
        };
        let found: Vec<_> = mentions_in(&text)
            .into_iter()
            .filter_map(|(range, name)| members.get(name).map(|user| (range, user.clone())))
            .collect();
        if found.is_empty() {
            continue;
        }
        let mut last = 0;
        for (range, user) in found {
            if range.start > last {
                let before =
                    arena.alloc(NodeValue::Text(text[last..range.start].to_string().into()).into());
                node.insert_before(before);
            }
            let link = arena.alloc(
                NodeValue::Link(Box::new(comrak::nodes::NodeLink {
                    url: format!("{MENTION_URL}{user}"),
                    title: String::new(),
                }))
                .into(),
            );
            link.append(
                arena.alloc(NodeValue::Text(text[range.clone()].to_string().into()).into()),
            );
            node.insert_before(link);
            last = range.end;
        }
        if last < text.len() {
            node.insert_before(
                arena.alloc(NodeValue::Text(text[last..].to_string().into()).into()),
            );
        }
        node.detach();
    }
}

/// Renders Markdown to sanitised HTML, with each `@name` of `members` a link to that
/// member's profile.
pub fn render_with_mentions(markdown: &str, members: &Mentionable) -> String {
    render_post(markdown, members, &Uploads::new())
}

/// What a post shows of one of the forum's uploads, which it names by URL
/// (`/uploads/TOKEN/…`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UploadRef {
    pub image: bool,
    /// Deleted by its owner or removed by a moderator: the post says so instead.
    pub removed: bool,
    /// An animated image: the thumbnail is its first frame, a click opens the animation.
    pub animated: bool,
    pub width: u32,
    pub height: u32,
    /// The whole file's address.
    pub url: String,
    /// Smaller copies (width, height, address), smallest first.
    pub thumbnails: Vec<(u32, u32, String)>,
}

/// The uploads a text names, by token.
pub type Uploads = HashMap<String, UploadRef>;

/// The widest an image is shown in a post, in CSS pixels: its 1× thumbnail is this wide.
pub const IMAGE_DISPLAY_WIDTH: u32 = 800;

/// The token of an upload address (`/uploads/TOKEN` or `/uploads/TOKEN/…`), if it is one.
fn upload_token(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("/uploads/")?;
    let token = rest.split(['/', '?', '#']).next()?;
    (!token.is_empty()).then_some(token)
}

/// Renders Markdown to sanitised HTML: mentions of `members` linked, and images and files of
/// `uploads` shown as such (an image as its thumbnail at the size it is shown, with a 2×
/// copy for sharp screens and its width and height set, linking to the whole image).
pub fn render_post(markdown: &str, members: &Mentionable, uploads: &Uploads) -> String {
    let options = options();
    let highlighter = Highlighter;
    let mut plugins = Plugins::default();
    plugins.render.codefence_syntax_highlighter = Some(&highlighter);
    let arena = Arena::new();
    let root = parse_document(&arena, markdown, &options);
    if !members.is_empty() {
        link_mentions(&arena, root, members);
    }
    let mut raw = String::with_capacity(markdown.len() * 2);
    // Writing to a String cannot fail.
    let _ = comrak::html::format_document_with_formatter(
        root,
        &options,
        &mut raw,
        &plugins,
        format_node,
        uploads,
    );
    sanitize(&raw)
}

/// The text of a node's descendants (an image's description).
fn node_text<'a>(node: &'a AstNode<'a>) -> String {
    let mut text = String::new();
    for part in node.descendants() {
        match &part.data().value {
            NodeValue::Text(t) => text.push_str(t),
            NodeValue::Code(c) => text.push_str(&c.literal),
            NodeValue::SoftBreak | NodeValue::LineBreak => text.push(' '),
            _ => {}
        }
    }
    text
}

/// An upload's image as a post shows it, or the note that it was removed. `linked`: the
/// image already sits in a link (it is not wrapped in another).
fn write_upload_image(
    context: &mut Context<&Uploads>,
    upload: &UploadRef,
    alt: &str,
    linked: bool,
) -> fmt::Result {
    if upload.removed {
        return context.write_str("<span class=\"upload-removed\">image removed</span>");
    }
    let (width, height) = if upload.width > IMAGE_DISPLAY_WIDTH {
        let h = u64::from(upload.height) * u64::from(IMAGE_DISPLAY_WIDTH) / u64::from(upload.width);
        (
            IMAGE_DISPLAY_WIDTH,
            u32::try_from(h.max(1)).unwrap_or(u32::MAX),
        )
    } else {
        (upload.width, upload.height)
    };
    // The 1× copy is the smallest at least as wide as shown; the 2× copy the next one, or
    // the whole image when it is no wider than twice that.
    let one = upload
        .thumbnails
        .iter()
        .find(|(w, _, _)| *w >= width)
        .map_or(upload.url.as_str(), |(_, _, url)| url.as_str());
    let two = upload
        .thumbnails
        .iter()
        .find(|(w, _, _)| *w >= width * 2)
        .map_or(upload.url.as_str(), |(_, _, url)| url.as_str());
    if !linked {
        context.write_str("<a class=\"upload-image")?;
        if upload.animated {
            context.write_str(" animated")?;
        }
        context.write_str("\" href=\"")?;
        context.escape_href(&upload.url)?;
        context.write_str("\">")?;
    }
    context.write_str("<img src=\"")?;
    context.escape_href(one)?;
    context.write_str("\"")?;
    if two != one {
        context.write_str(" srcset=\"")?;
        context.escape_href(one)?;
        context.write_str(" 1x, ")?;
        context.escape_href(two)?;
        context.write_str(" 2x\"")?;
    }
    if width > 0 && height > 0 {
        write!(context, " width=\"{width}\" height=\"{height}\"")?;
    }
    context.write_str(" alt=\"")?;
    context.escape(alt)?;
    context.write_str("\" loading=\"lazy\" decoding=\"async\" />")?;
    if !linked {
        context.write_str("</a>")?;
    }
    Ok(())
}

/// comrak's HTML, but a task-list checkbox says what it is (comrak's has no name, so a screen
/// reader announces a bare "checkbox").
fn format_node<'a>(
    context: &mut Context<&Uploads>,
    node: &'a AstNode<'a>,
    entering: bool,
) -> Result<ChildRendering, fmt::Error> {
    let checked = match &node.data().value {
        NodeValue::TaskItem(item) => item.symbol.is_some(),
        NodeValue::Image(image) => {
            let uploads = context.user;
            let Some(upload) = upload_token(&image.url).and_then(|t| uploads.get(t)) else {
                return comrak::html::format_node_default(context, node, entering);
            };
            if entering {
                let linked = node
                    .ancestors()
                    .skip(1)
                    .any(|a| matches!(a.data().value, NodeValue::Link(_)));
                write_upload_image(context, upload, &node_text(node), linked)?;
            }
            return Ok(ChildRendering::Skip);
        }
        NodeValue::Link(link) if upload_token(&link.url).is_some() => {
            let uploads = context.user;
            let Some(upload) = upload_token(&link.url).and_then(|t| uploads.get(t)) else {
                return comrak::html::format_node_default(context, node, entering);
            };
            if !upload.removed {
                return comrak::html::format_node_default(context, node, entering);
            }
            // A removed file: its name stays, as text, with a note.
            if entering {
                context.write_str("<span class=\"upload-removed\">")?;
                let what = if upload.image { "image" } else { "file" };
                context.escape(&node_text(node))?;
                write!(context, " ({what} removed)</span>")?;
            }
            return Ok(ChildRendering::Skip);
        }
        NodeValue::Link(link) if link.url.starts_with(MENTION_URL) => {
            if entering {
                context.write_str("<a class=\"mention\" href=\"")?;
                context.escape_href(&link.url["agora-mention:".len()..])?;
                context.write_str("\">")?;
            } else {
                context.write_str("</a>")?;
            }
            return Ok(ChildRendering::HTML);
        }
        _ => return comrak::html::format_node_default(context, node, entering),
    };
    // As comrak writes it (`render_task_item`), with the name added.
    let in_list = node
        .parent()
        .is_some_and(|p| matches!(p.data().value, NodeValue::List(_)));
    if entering {
        context.cr()?;
        if in_list {
            context.write_str("<li class=\"task-list-item\">")?;
        }
        let (state, label) = if checked {
            (" checked=\"\"", TASK_DONE)
        } else {
            ("", TASK_OPEN)
        };
        write!(
            context,
            "<input type=\"checkbox\" class=\"task-list-item-checkbox\"{state} disabled=\"\" aria-label=\"{label}\" /> "
        )?;
    } else if in_list {
        context.write_str("</li>")?;
        context.lf()?;
    }
    Ok(ChildRendering::HTML)
}

/// Sanitises HTML from elsewhere (for example an imported signature) with the same rules.
/// Characters XML forbids are dropped from the output, however they came in: typed raw, or
/// written as a reference (`&#1;`) that the Markdown and HTML parsers turn into the character.
pub fn sanitize(html: &str) -> String {
    let clean = sanitizer().clean(html).to_string();
    match xml_safe(&clean) {
        Cow::Borrowed(_) => clean,
        Cow::Owned(safe) => safe,
    }
}

/// Whether XML 1.0 allows a character in a document (its `Char` production): tab, line feed,
/// carriage return, and everything from U+0020 up except U+FFFE and U+FFFF (and the
/// surrogates, which a Rust string cannot hold). Other C0 controls make a feed unparseable.
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{FFFD}') || c > '\u{FFFF}'
}

/// `text` without the characters XML 1.0 forbids (see [`is_xml_char`]); borrowed when it had
/// none, which is nearly always.
pub fn xml_safe(text: &str) -> Cow<'_, str> {
    if text.chars().all(is_xml_char) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.chars().filter(|c| is_xml_char(*c)).collect())
    }
}

/// The readable text of a Markdown document, whitespace collapsed, code blocks left out:
/// what listings show as an excerpt and what search indexes.
pub fn plain_text(markdown: &str) -> String {
    let arena = Arena::new();
    let options = options();
    let root = parse_document(&arena, markdown, &options);
    let mut out = String::with_capacity(markdown.len());
    for node in root.descendants() {
        match &node.data().value {
            NodeValue::Text(text) => out.push_str(text),
            NodeValue::Code(code) => out.push_str(&code.literal),
            NodeValue::SoftBreak | NodeValue::LineBreak => out.push(' '),
            NodeValue::Paragraph | NodeValue::Heading(_) | NodeValue::Item(_) => out.push(' '),
            _ => {}
        }
    }
    collapse_whitespace(&xml_safe(&out))
}

/// The words of the link addresses in HTML this crate rendered, for search: a documentation
/// link's path says what it is about (`…/documentation/network/nwconnection`). The host, the
/// query, the fragment, numbers and one-letter segments are left out.
pub fn link_words(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(at) = rest.find("href=\"") {
        rest = &rest[at + 6..];
        let end = rest.find('"').unwrap_or(rest.len());
        let url = rest[..end].replace("&amp;", "&");
        rest = &rest[end..];
        let Some((_, after)) = url.split_once("://") else {
            continue;
        };
        let address = after.split(['?', '#']).next().unwrap_or("");
        let path = address.split_once('/').map_or("", |(_, path)| path);
        for word in path.split(|c: char| !c.is_alphanumeric()) {
            // Ids and one-letter routes (`/q/123`, `/users/45`) say nothing.
            if word.chars().count() > 1 && !word.chars().all(|c| c.is_ascii_digit()) {
                out.push_str(word);
                out.push(' ');
            }
        }
    }
    out.trim_end().to_string()
}

/// The readable text of HTML this crate rendered (sanitised, well formed), code included:
/// what search indexes and quotes in snippets. Block elements separate words; inline ones
/// (highlighting spans, links, emphasis) do not, so `foo<span>.</span>bar` stays `foo.bar`.
pub fn html_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(lt) = rest.find(['<', '&']) {
        out.push_str(&rest[..lt]);
        rest = &rest[lt..];
        if rest.starts_with('<') {
            let end = rest.find('>').map_or(rest.len(), |e| e + 1);
            let name: String = rest[1..end]
                .trim_start_matches('/')
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect::<String>()
                .to_ascii_lowercase();
            if !INLINE_TAGS.contains(&name.as_str()) {
                out.push(' ');
            }
            rest = &rest[end..];
        } else {
            // An entity is short: look for its `;` in the next few bytes. A `;` is one byte
            // and never inside a multibyte character, so slicing at it is always safe.
            let end = rest.as_bytes().iter().take(12).position(|&b| b == b';');
            let decoded = end.and_then(|e| decode_entity(&rest[1..e]));
            match (end, decoded) {
                (Some(e), Some(c)) => {
                    out.push(c);
                    rest = &rest[e + 1..];
                }
                _ => {
                    out.push('&');
                    rest = &rest[1..];
                }
            }
        }
    }
    out.push_str(rest);
    collapse_whitespace(&out)
}

/// Elements that do not separate words.
const INLINE_TAGS: &[&str] = &[
    "a", "abbr", "b", "code", "del", "em", "i", "ins", "kbd", "mark", "s", "samp", "small", "span",
    "strong", "sub", "sup", "u", "var",
];

fn decode_entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        "nbsp" => Some(' '),
        _ => {
            let number = name.strip_prefix('#')?;
            let code = match number.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => number.parse().ok()?,
            };
            char::from_u32(code)
        }
    }
}

/// At most `max_chars` characters of [`plain_text`], cut at a word boundary where one is
/// near, with an ellipsis when something was cut.
pub fn excerpt(markdown: &str, max_chars: usize) -> String {
    truncate_text(&plain_text(markdown), max_chars)
}

/// Cuts text to at most `max_chars` characters (not bytes: CJK text is cut fairly).
pub fn truncate_text(text: &str, max_chars: usize) -> String {
    let Some((cut, _)) = text.char_indices().nth(max_chars) else {
        return text.to_string();
    };
    let head = &text[..cut];
    // Prefer a word boundary in the last third; CJK text has none and is cut where it stands.
    let floor = head.len() - head.len() / 3;
    let end = match head.rfind(' ') {
        Some(space) if space >= floor => space,
        _ => cut,
    };
    format!("{}…", head[..end].trim_end())
}

fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

fn options() -> Options<'static> {
    let mut options = Options::default();
    let ext = &mut options.extension;
    ext.strikethrough = true;
    ext.table = true;
    ext.autolink = true;
    ext.tasklist = true;
    ext.footnotes = true;
    // Raw HTML in posts is escaped by comrak and, were it not, removed by the sanitiser.
    options.render.escape = true;
    options.render.github_pre_lang = false;
    options.render.tasklist_classes = true;
    options
}

/// Which renderer wrote a post's stored HTML. Raise it whenever the same Markdown would come
/// out differently (a new language highlighted, a sanitiser rule), so stored posts are
/// rendered again (`agora posts rerender`, and on start-up when the database's version differs).
/// 1: syntect's default syntaxes. 2: two-face's (Swift, Kotlin, shell, TOML, YAML…).
/// 3: `@name` mentions of members are links to their profiles.
pub const VERSION: i64 = 3;

/// The syntaxes: two-face's set (bat's curation, made for fancy-regex), a superset of syntect's
/// defaults. Loaded once, on first use (about 1 MB of definitions, linked into the binary).
fn syntaxes() -> &'static SyntaxSet {
    static SET: OnceLock<SyntaxSet> = OnceLock::new();
    SET.get_or_init(two_face::syntax::extra_newlines)
}

/// Loads the syntaxes now rather than on the first post with code (start-up calls this, so
/// the first reader does not wait for it).
pub fn warm_up() {
    let _ = syntaxes();
}

/// The names forum posts give languages on a code fence that are neither a syntax's file
/// extension nor its name, with the syntax they mean (by name).
const LANGUAGE_ALIASES: &[(&str, &str)] = &[
    ("shell", "Bourne Again Shell (bash)"),
    ("sh", "Bourne Again Shell (bash)"),
    ("bash", "Bourne Again Shell (bash)"),
    ("zsh", "Bourne Again Shell (bash)"),
    ("console", "Bourne Again Shell (bash)"),
    ("shell-session", "Bourne Again Shell (bash)"),
    ("terminal", "Bourne Again Shell (bash)"),
    ("objc", "Objective-C"),
    ("objective-c", "Objective-C"),
    ("objectivec", "Objective-C"),
    ("obj-c", "Objective-C"),
    ("objc++", "Objective-C++"),
    ("objective-c++", "Objective-C++"),
    ("kotlin", "Kotlin"),
    ("swift", "Swift"),
    ("dockerfile", "Dockerfile"),
    ("docker", "Dockerfile"),
    ("yaml", "YAML"),
    ("yml", "YAML"),
    ("toml", "TOML"),
    ("json", "JSON"),
    ("jsonc", "JSON"),
    ("js", "JavaScript"),
    ("javascript", "JavaScript"),
    ("ts", "TypeScript"),
    ("typescript", "TypeScript"),
    ("tsx", "TypeScriptReact"),
    ("py", "Python"),
    ("python", "Python"),
    ("rb", "Ruby"),
    ("golang", "Go"),
    ("cs", "C#"),
    ("csharp", "C#"),
    ("c#", "C#"),
    ("cpp", "C++"),
    ("c++", "C++"),
    ("ps1", "PowerShell"),
    ("powershell", "PowerShell"),
    ("make", "Makefile"),
    ("makefile", "Makefile"),
    ("diff", "Diff"),
    ("patch", "Diff"),
    ("gql", "GraphQL"),
    ("graphql", "GraphQL"),
    ("proto", "Protocol Buffer"),
    ("protobuf", "Protocol Buffer"),
    ("ini", "INI"),
    ("gradle", "Groovy"),
    ("hcl", "Terraform"),
    ("terraform", "Terraform"),
    ("tf", "Terraform"),
    ("md", "Markdown"),
    ("markdown", "Markdown"),
];

/// The syntax a code fence's language names: an alias above, else a syntax's token (file
/// extension or name, as syntect matches them), case-insensitively.
fn find_syntax(lang: &str) -> Option<&'static syntect::parsing::SyntaxReference> {
    let set = syntaxes();
    let lower = lang.to_ascii_lowercase();
    LANGUAGE_ALIASES
        .iter()
        .find(|(alias, _)| *alias == lower)
        .and_then(|(_, name)| set.find_syntax_by_name(name))
        .or_else(|| set.find_syntax_by_token(lang))
        .or_else(|| set.find_syntax_by_extension(&lower))
}

/// Highlights fenced code with syntect, emitting `<span class="hl-…">` instead of inline styles,
/// so light and dark schemes are a matter of CSS.
struct Highlighter;

impl Highlighter {
    fn highlight(lang: &str, code: &str) -> Option<String> {
        if code.len() > MAX_HIGHLIGHT_BYTES {
            return None;
        }
        let set = syntaxes();
        let syntax = find_syntax(lang)?;
        let mut generator = ClassedHTMLGenerator::new_with_class_style(
            syntax,
            set,
            ClassStyle::SpacedPrefixed { prefix: HL_PREFIX },
        );
        for line in LinesWithEndings::from(code) {
            generator
                .parse_html_for_line_which_includes_newline(line)
                .ok()?;
        }
        Some(generator.finalize())
    }
}

impl comrak::adapters::SyntaxHighlighterAdapter for Highlighter {
    fn write_highlighted(
        &self,
        output: &mut dyn fmt::Write,
        lang: Option<&str>,
        code: &str,
    ) -> fmt::Result {
        match lang.and_then(|lang| Self::highlight(lang, code)) {
            Some(html) => output.write_str(&html),
            None => output.write_str(&escape_html(code)),
        }
    }

    fn write_pre_tag(
        &self,
        output: &mut dyn fmt::Write,
        _attributes: HashMap<&'static str, Cow<'_, str>>,
    ) -> fmt::Result {
        // Focusable, so a keyboard can scroll a block wider than the page.
        output.write_str("<pre tabindex=\"0\">")
    }

    fn write_code_tag(
        &self,
        output: &mut dyn fmt::Write,
        attributes: HashMap<&'static str, Cow<'_, str>>,
    ) -> fmt::Result {
        match attributes.get("class") {
            Some(class) => write!(output, "<code class=\"{}\">", escape_html(class)),
            None => output.write_str("<code>"),
        }
    }
}

fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

/// Classes comrak itself emits that the stylesheet knows; anything else is dropped.
const KNOWN_CLASSES: &[&str] = &[
    "footnotes",
    "footnote-definition",
    "footnote-backref",
    "task-list-item",
    "contains-task-list",
    "task-list-item-checkbox",
    // A link to a mentioned member's profile (`link_mentions`).
    "mention",
    // An uploaded image (`write_upload_image`), and what a removed upload leaves.
    "upload-image",
    "animated",
    "upload-removed",
];

fn keep_class(class: &str) -> bool {
    class.starts_with(HL_PREFIX) || class.starts_with("language-") || KNOWN_CLASSES.contains(&class)
}

fn sanitizer() -> &'static ammonia::Builder<'static> {
    static BUILDER: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    BUILDER.get_or_init(|| {
        let mut builder = ammonia::Builder::default();
        builder
            .url_schemes(HashSet::from(["http", "https", "mailto"]))
            .link_rel(Some("nofollow ugc noopener"))
            .add_tags(["input", "section"])
            .add_tag_attributes("input", ["type", "checked", "disabled", "aria-label"])
            .add_tag_attributes("pre", ["tabindex"])
            .add_tag_attributes("img", ["srcset", "loading", "decoding"])
            .add_generic_attributes(["class", "id"])
            .id_prefix(Some(ID_PREFIX))
            .attribute_filter(|element, attribute, value| match (element, attribute) {
                (_, "class") => {
                    let kept: Vec<&str> =
                        value.split_whitespace().filter(|c| keep_class(c)).collect();
                    (!kept.is_empty()).then(|| Cow::Owned(kept.join(" ")))
                }
                // Task-list checkboxes only, and never clickable.
                ("input", "type") => (value == "checkbox").then_some(Cow::Borrowed("checkbox")),
                ("input", "disabled") => Some(Cow::Borrowed("")),
                // A task's name, one of two fixed texts.
                ("input", "aria-label") => [TASK_DONE, TASK_OPEN]
                    .into_iter()
                    .find(|label| *label == value)
                    .map(Cow::Borrowed),
                // Image sources for sharper screens: only the forum's own uploads (a srcset
                // is a list of addresses the sanitiser would not otherwise check).
                ("img", "srcset") => value
                    .split(',')
                    .all(|candidate| {
                        let url = candidate.split_whitespace().next().unwrap_or("");
                        url.starts_with("/uploads/") && !url.contains("//")
                    })
                    .then_some(Cow::Borrowed(value)),
                ("img", "loading") => (value == "lazy").then_some(Cow::Borrowed("lazy")),
                ("img", "decoding") => (value == "async").then_some(Cow::Borrowed("async")),
                // In the page's tab order, never ahead of it.
                ("pre", "tabindex") => (value == "0").then_some(Cow::Borrowed("0")),
                // In-page links (footnotes) point at the prefixed ids.
                ("a", "href") if value.starts_with('#') && !value.starts_with("#user-content-") => {
                    Some(Cow::Owned(format!("#{ID_PREFIX}{}", &value[1..])))
                }
                _ => Some(Cow::Borrowed(value)),
            });
        builder
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn link_addresses_give_their_words() {
        let html = r#"<p>See <a href="https://developer.apple.com/documentation/network/nwconnection?x=1&amp;y=2#top">the docs</a> and <a href="/thread/3">this</a>.</p>"#;
        assert_eq!(
            super::link_words(html),
            "documentation network nwconnection"
        );
    }

    #[test]
    fn html_text_keeps_code_and_separates_blocks() {
        let html = render(
            "Intro *emph*\n\n```swift\nlet c = NWConnection(host: h)\n```\n\n- one\n- two &amp; <b>",
        );
        let text = html_text(&html);
        assert!(text.contains("NWConnection(host: h)"), "{text}");
        assert!(text.starts_with("Intro emph let c"), "{text}");
        assert!(
            text.ends_with("one two &amp; <b>") || text.ends_with("one two & <b>"),
            "{text}"
        );
        assert_eq!(
            html_text("a<span>.</span>b<p>c</p>&#x4e2d;&#25991;&bogus"),
            "a.b c 中文&bogus"
        );
    }

    use super::*;

    #[test]
    fn gfm_extensions_render() {
        let html = render(
            "| a | b |\n|---|---|\n| 1 | 2 |\n\n- [x] done\n- [ ] todo\n\nSee https://example.com and ~~old~~.\n\nNote[^1].\n\n[^1]: The note.\n",
        );
        assert!(html.contains("<table>"), "{html}");
        assert!(html.contains("type=\"checkbox\""), "{html}");
        assert!(html.contains("class=\"contains-task-list\""), "{html}");
        assert!(html.contains("disabled"), "{html}");
        assert!(
            html.contains("<a href=\"https://example.com\" rel=\"nofollow ugc noopener\">"),
            "{html}"
        );
        assert!(html.contains("<del>old</del>"), "{html}");
        assert!(html.contains("id=\"user-content-fn-1\""), "{html}");
        assert!(html.contains("href=\"#user-content-fn-1\""), "{html}");
    }

    #[test]
    fn fenced_code_is_highlighted_with_classes() {
        let html = render("```rust\nfn main() { let x = 1; }\n```\n");
        assert!(
            html.contains("<pre tabindex=\"0\"><code class=\"language-rust\">"),
            "{html}"
        );
        assert!(html.contains("class=\"hl-"), "{html}");
        assert!(!html.contains("style="), "{html}");
    }

    /// Every language a developer forum writes code in comes out highlighted: the classes of
    /// at least two different scopes inside the block, not just the block's own.
    #[test]
    fn common_languages_are_highlighted() {
        let samples = [
            (
                "swift",
                "let c = NWConnection(host: h, port: 443, using: .tls)\n",
            ),
            ("objc", "@interface Foo : NSObject\n- (void)bar;\n@end\n"),
            ("kotlin", "fun main() { val x: Int = 1 }\n"),
            ("shell", "$ export FOO=1 && echo \"$FOO\" | grep 1\n"),
            ("bash", "for f in *.txt; do echo \"$f\"; done\n"),
            ("sh", "if [ -f x ]; then exit 1; fi\n"),
            ("zsh", "echo $HOME\n"),
            ("console", "$ cargo build --release\n"),
            ("json", "{\"a\": [1, true, null]}\n"),
            ("yaml", "key: value\nlist:\n  - 1\n"),
            ("toml", "[package]\nname = \"x\"\n"),
            ("dockerfile", "FROM rust:1.90\nRUN cargo build\n"),
            ("rust", "fn main() { let x = 1; }\n"),
            ("c", "int main(void) { return 0; }\n"),
            ("cpp", "std::vector<int> v{1};\n"),
            ("go", "func main() { fmt.Println(1) }\n"),
            ("python", "def f(x):\n    return x + 1\n"),
            ("js", "const x = () => 1;\n"),
            ("typescript", "let x: number = 1;\n"),
            ("java", "public class A { int x = 1; }\n"),
            ("csharp", "public class A { int x = 1; }\n"),
            ("ruby", "def f; 1; end\n"),
            ("php", "<?php echo 1; ?>\n"),
            ("sql", "SELECT id FROM posts WHERE x = 1;\n"),
            ("diff", "--- a\n+++ b\n-x\n+y\n"),
            ("xml", "<a b=\"c\">d</a>\n"),
            ("html", "<p class=\"x\">y</p>\n"),
            ("css", "a { color: red; }\n"),
            ("makefile", "all:\n\tcc -o x x.c\n"),
            ("lua", "local x = 1\n"),
            ("graphql", "query { a }\n"),
        ];
        for (lang, code) in samples {
            let html = render(&format!("```{lang}\n{code}```\n"));
            let classes: HashSet<&str> = html
                .split("class=\"")
                .skip(1)
                .filter_map(|rest| rest.split('"').next())
                .filter(|c| c.starts_with(HL_PREFIX))
                .collect();
            assert!(classes.len() >= 2, "{lang}: {html}");
            assert!(!html.contains("style="), "{lang}: {html}");
        }
        // Case does not matter: `Swift` is `swift`.
        assert!(render("```Swift\nlet x = 1\n```\n").contains("hl-"));
    }

    #[test]
    fn unknown_language_is_escaped_plain_text() {
        let html = render("```nosuchlang\n<b>x</b> & y\n```\n");
        assert!(html.contains("&lt;b&gt;x&lt;/b&gt; &amp; y"), "{html}");
    }

    #[test]
    fn dangerous_markup_is_removed() {
        for input in [
            "<script>alert(1)</script>",
            "[x](javascript:alert(1))",
            "[x](data:text/html;base64,PHNjcmlwdD4=)",
            "<img src=x onerror=alert(1)>",
            "<a href=\"#\" onclick=\"alert(1)\">x</a>",
            "![x](javascript:alert(1))",
        ] {
            let html = render(input);
            // Escaped text is harmless; what matters is what stands inside real tags.
            for tag in html
                .split('<')
                .skip(1)
                .filter_map(|rest| rest.split_once('>').map(|(t, _)| t))
            {
                let tag = tag.to_ascii_lowercase();
                assert!(!tag.starts_with("script"), "{input} -> {html}");
                assert!(
                    !tag.contains("javascript:") && !tag.contains("data:"),
                    "{input} -> {html}"
                );
                assert!(
                    !tag.split_whitespace().any(|attr| attr.starts_with("on")),
                    "{input} -> {html}"
                );
            }
        }
    }

    #[test]
    fn task_list_checkboxes_have_a_name() {
        let html = render("- [x] done\n- [ ] todo\n\n1. [X] loose\n\n   more\n\n2. [ ] item\n");
        let boxes: Vec<&str> = html
            .split("<input")
            .skip(1)
            .filter_map(|rest| rest.split_once('>').map(|(tag, _)| tag))
            .collect();
        assert_eq!(boxes.len(), 4, "{html}");
        for (tag, done) in boxes.iter().zip([true, false, true, false]) {
            let label = if done { TASK_DONE } else { TASK_OPEN };
            assert!(tag.contains(&format!("aria-label=\"{label}\"")), "{tag}");
            assert_eq!(tag.contains("checked"), done, "{tag}");
            assert!(tag.contains("disabled"), "{tag}");
        }
        assert!(html.contains("<li class=\"task-list-item\">"), "{html}");
        // A plain list is untouched.
        assert_eq!(
            render("- one\n- two\n"),
            "<ul>\n<li>one</li>\n<li>two</li>\n</ul>\n"
        );
    }

    #[test]
    fn every_code_block_is_focusable() {
        for markdown in [
            "```rust\nfn main() {}\n```\n",
            "```\nplain\n```\n",
            "```nosuchlang\nx\n```\n",
            "    indented code\n",
        ] {
            let html = render(markdown);
            assert!(
                html.starts_with("<pre tabindex=\"0\"><code"),
                "{markdown:?} -> {html}"
            );
        }
        // Inline code is not a stop for the keyboard.
        assert_eq!(render("`x`"), "<p><code>x</code></p>\n");
    }

    #[test]
    fn accessibility_attributes_pass_only_where_and_as_we_write_them() {
        let cases = [
            // Other names, values, elements: dropped.
            (
                "<input type=\"checkbox\" aria-label=\"Click me\" tabindex=\"0\" disabled>",
                "<input type=\"checkbox\" disabled=\"\">",
            ),
            ("<pre tabindex=\"-1\">x</pre>", "<pre>x</pre>"),
            (
                "<pre tabindex=\"1\" aria-label=\"x\">x</pre>",
                "<pre>x</pre>",
            ),
            (
                "<a href=\"https://e.com\" tabindex=\"0\" aria-label=\"Completed task\">x</a>",
                "<a href=\"https://e.com\" rel=\"nofollow ugc noopener\">x</a>",
            ),
            (
                "<div tabindex=\"0\" aria-label=\"Incomplete task\">x</div>",
                "<div>x</div>",
            ),
            // Ours: kept.
            ("<pre tabindex=\"0\">x</pre>", "<pre tabindex=\"0\">x</pre>"),
            (
                "<input type=\"checkbox\" aria-label=\"Incomplete task\" disabled>",
                "<input type=\"checkbox\" aria-label=\"Incomplete task\" disabled=\"\">",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(sanitize(input), want, "{input}");
        }
        // Typed into a post, such markup is text, not elements.
        let html = render("<pre tabindex=\"0\" onfocus=\"alert(1)\">x</pre>");
        assert!(
            html.starts_with("&lt;pre tabindex") && !html.contains('<'),
            "{html}"
        );
    }

    #[test]
    fn characters_xml_forbids_never_reach_the_output() {
        for markdown in [
            "a\u{1}b",
            "a&#1;b",
            "a&#x1;b",
            "a&#x0;b",
            "a&#11;b",
            "a\u{FFFE}b&#xFFFF;",
            "`a\u{1}b`",
            "```\na&#1;\u{8}b\n```\n",
            "[a\u{1}b](https://example.com/&#1;)",
        ] {
            for output in [
                render(markdown),
                plain_text(markdown),
                excerpt(markdown, 50),
            ] {
                assert!(
                    output.chars().all(is_xml_char),
                    "{markdown:?} -> {output:?}"
                );
            }
            // Only the forbidden characters go (plain text leaves code blocks out).
            let html = render(markdown);
            assert!(
                html.contains('a') && html.contains('b'),
                "{markdown:?} -> {html:?}"
            );
        }
        // Tabs, line breaks and everything printable stay.
        let html = render("```\ncol\tcol\r\nnext 中文 \u{1F600}\n```\n");
        assert!(html.contains("col\tcol"), "{html:?}");
        assert!(html.contains("中文 \u{1F600}"), "{html:?}");
        assert_eq!(sanitize("<p>x\u{7}y</p>"), "<p>xy</p>");
        assert_eq!(xml_safe("tab\there"), "tab\there");
        assert!(matches!(xml_safe("plain"), Cow::Borrowed(_)));
        assert!(!is_xml_char('\u{FFFE}') && !is_xml_char('\u{0}') && !is_xml_char('\u{1F}'));
        assert!(is_xml_char('\u{7F}') && is_xml_char('\u{10000}') && is_xml_char('\u{FFFD}'));
    }

    #[test]
    fn foreign_classes_are_dropped() {
        let html = sanitize("<span class=\"staff-badge hl-keyword\">x</span>");
        assert_eq!(html, "<span class=\"hl-keyword\">x</span>");
    }

    #[test]
    fn plain_text_skips_code_blocks_and_collapses_space() {
        let text = plain_text(
            "# Title\n\nSome *emphasis* and `code`.\n\n```\nhidden()\n```\n\n- one\n- two\n",
        );
        assert_eq!(text, "Title Some emphasis and code. one two");
    }

    #[test]
    fn excerpts_cut_by_characters() {
        assert_eq!(truncate_text("网络请求失败了", 4), "网络请求…");
        assert_eq!(truncate_text("short", 10), "short");
        assert_eq!(truncate_text("alpha beta gamma delta", 15), "alpha beta…");
    }
}

/// Random Unicode, dense in the characters the text paths treat specially (`&`, `<`, `;`,
/// Markdown punctuation) next to multibyte ones: every function here must take any text.
#[cfg(test)]
mod fuzz {
    use super::*;
    use proptest::prelude::*;

    fn tricky_char() -> impl Strategy<Value = char> {
        prop_oneof![
            4 => prop::sample::select(vec![
                '&', '<', '>', ';', '#', 'x', '*', '`', '[', ']', '(', ')', '\n', ' ', '|', '-',
                '~', '\\', '!', '"', '\'', ':', '/',
            ]),
            3 => prop::sample::select(vec![
                '🎉', '‹', '中', '文', '日', '本', 'ア', 'é', 'ß', '\u{200b}', '\u{fffd}', 'Ω',
                '\u{1}', '\u{0}', '\u{7f}', '\u{feff}', '한',
            ]),
            2 => any::<char>(),
            1 => prop::char::range('a', 'z'),
        ]
    }

    fn tricky_text() -> impl Strategy<Value = String> {
        prop::collection::vec(tricky_char(), 0..160).prop_map(|c| c.into_iter().collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn every_text_function_takes_any_text(text in tricky_text(), max in 0usize..40) {
            let html = render(&text);
            let _ = html_text(&html);
            // Raw text straight into the HTML reader too: it must not trust its input.
            let _ = html_text(&text);
            let _ = plain_text(&text);
            let _ = excerpt(&text, max);
            let _ = truncate_text(&text, max);
            let _ = sanitize(&text);
        }

        #[test]
        fn entities_next_to_multibyte_text(prefix in tricky_text(), name in "[a-z#x0-9]{0,14}", tail in tricky_text()) {
            let _ = html_text(&format!("{prefix}&{name}{tail}"));
            let _ = html_text(&format!("{prefix}<{name}{tail}"));
        }
    }

    #[test]
    fn the_bodies_that_broke_search() {
        for body in [
            "R&D 🎉🎉",
            "R&D 🎉🎉🎉🎉 more",
            "‹中文中文中文中文",
            "&中文中文中文中文;",
            "<中文",
        ] {
            let html = render(body);
            assert!(!html_text(&html).is_empty(), "{body}");
            let _ = html_text(body);
        }
        assert_eq!(html_text("R&D 🎉🎉"), "R&D 🎉🎉");
        assert_eq!(html_text("a&amp;中"), "a&中");
    }
}

#[cfg(test)]
mod mention_tests {
    use super::*;

    fn members(names: &[&str]) -> Mentionable {
        names
            .iter()
            .map(|n| (n.to_string(), n.to_string()))
            .collect()
    }

    #[test]
    fn mentions_become_profile_links_outside_code_and_links() {
        let html = render_with_mentions(
            "@eskimo any idea? Mail a@b.example, see `@eskimo` and [@eskimo](https://x.example).\n\n```\n@eskimo\n```",
            &members(&["eskimo"]),
        );
        assert_eq!(
            html.matches("<a class=\"mention\" href=\"/users/eskimo\"")
                .count(),
            1,
            "{html}"
        );
        assert!(
            html.contains("rel=\"nofollow ugc noopener\">@eskimo</a> any idea?"),
            "{html}"
        );
        assert!(html.contains("<code>@eskimo</code>"), "{html}");
        assert!(!html.contains("agora-mention"), "{html}");
    }

    #[test]
    fn unknown_names_stay_text_and_any_script_counts() {
        let html = render_with_mentions("Thanks @李明 and @nobody.", &members(&["李明"]));
        assert!(html.contains(">@李明</a>"), "{html}");
        assert!(html.contains("and @nobody."), "{html}");
        assert_eq!(
            mention_candidates("Thanks @李明 and @nobody."),
            ["李明", "nobody"]
        );
    }

    #[test]
    fn quoted_and_coded_mentions_do_not_mention() {
        let md = "**@ann** wrote:\n\n> ask @ben about it\n\n@cleo, and `@dan`";
        assert_eq!(mentions(md), ["cleo"]);
        assert_eq!(quoted_names(md), ["ann"]);
        assert_eq!(
            quoted_names("[@ann](/thread/1/x#post-2) wrote:\n\n> text"),
            ["ann"]
        );
        assert!(mentions("a@b.example and me@home").is_empty());
    }
}
