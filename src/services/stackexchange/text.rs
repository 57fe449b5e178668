//! Turning a dump's text into the forum's: HTML bodies into Markdown (htmd, with our own code
//! blocks and images), tag names into slugs, display names into usernames, and text made safe
//! to place inside our own Markdown. Whatever comes out is rendered and sanitised by
//! `agora_markup` like every post.

use std::rc::Rc;

use htmd::element_handler::{HandlerResult, Handlers};
use htmd::options::{BulletListMarker, Options};
use htmd::{Element, HtmlToMarkdown};
use markup5ever_rcdom::{Node, NodeData};

/// What Stack Exchange's editor writes when nobody describes an image.
const DEFAULT_ALT: &str = "enter image description here";

/// The converter: htmd's, with `<pre>` always a fenced code block (htmd leaves a `<pre>`
/// without `<code>` as plain text, so Markdown inside it would render) and images kept at
/// their external address (never copied here) with Stack Exchange's placeholder description
/// ("enter image description here") replaced by "image".
pub fn converter() -> HtmlToMarkdown {
    HtmlToMarkdown::builder()
        .options(Options {
            bullet_list_marker: BulletListMarker::Dash,
            ul_bullet_spacing: 1,
            ol_number_spacing: 1,
            ..Options::default()
        })
        .skip_tags(vec!["script", "style", "head"])
        .add_handler(vec!["pre"], pre_block)
        .add_handler(vec!["img"], image_link)
        .build()
}

/// HTML to Markdown; HTML so broken that it cannot be read becomes its text, escaped.
pub fn to_markdown(converter: &HtmlToMarkdown, html: &str) -> String {
    match converter.convert(html) {
        Ok(markdown) => markdown.trim().to_string(),
        Err(_) => escape_inline(html),
    }
}

fn text_of(node: &Rc<Node>, out: &mut String) {
    match &node.data {
        NodeData::Text { contents } => out.push_str(&contents.borrow()),
        NodeData::Element { name, .. } if &*name.local == "br" => out.push('\n'),
        _ => {}
    }
    for child in node.children.borrow().iter() {
        text_of(child, out);
    }
}

fn class_language(node: &Rc<Node>) -> Option<String> {
    let NodeData::Element { attrs, .. } = &node.data else {
        return None;
    };
    let attrs = attrs.borrow();
    let class = attrs.iter().find(|a| &*a.name.local == "class")?;
    class.value.split_whitespace().find_map(|c| {
        let lang = c
            .strip_prefix("lang-")
            .or_else(|| c.strip_prefix("language-"))?;
        (!lang.is_empty()
            && lang != "none"
            && lang
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '#' | '-' | '_')))
        .then(|| lang.to_string())
    })
}

fn pre_block(_: &dyn Handlers, element: Element) -> Option<HandlerResult> {
    let mut code = String::new();
    text_of(element.node, &mut code);
    let code = code.trim_end_matches(['\n', '\r']);
    let code = code.strip_prefix('\n').unwrap_or(code);
    let language = class_language(element.node).or_else(|| {
        element
            .node
            .children
            .borrow()
            .iter()
            .find_map(class_language)
    });
    let longest = code.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    Some(HandlerResult::from(format!(
        "\n\n{fence}{}\n{code}\n{fence}\n\n",
        language.unwrap_or_default()
    )))
}

fn attribute(element: &Element, name: &str) -> Option<String> {
    element
        .attrs
        .iter()
        .find(|a| &*a.name.local == name)
        .map(|a| a.value.to_string())
}

fn image_link(_: &dyn Handlers, element: Element) -> Option<HandlerResult> {
    let alt = attribute(&element, "alt")
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty() && a != DEFAULT_ALT)
        .unwrap_or_else(|| "image".to_string());
    let alt = escape_inline(&alt);
    let src = attribute(&element, "src").unwrap_or_default();
    if src.starts_with("https://") || src.starts_with("http://") {
        Some(HandlerResult::from(format!(
            "![{alt}]({})",
            link_target(&src)
        )))
    } else {
        // A relative or data: address means nothing here: the description stays.
        Some(HandlerResult::from(alt))
    }
}

/// A URL as a Markdown link destination: in angle brackets when it has spaces or brackets.
pub fn link_target(url: &str) -> String {
    if url.contains([' ', '(', ')', '<', '>']) {
        format!(
            "<{}>",
            url.replace('<', "%3C")
                .replace('>', "%3E")
                .replace(' ', "%20")
        )
    } else {
        url.to_string()
    }
}

/// Text placed inside our own Markdown (a name, a title, a comment) that must read as itself:
/// every ASCII punctuation character escaped (CommonMark allows a backslash before any), and
/// line breaks made spaces.
pub fn escape_inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_ascii_punctuation() => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// A comment's text (Stack Exchange's comment Markdown: `code`, *emphasis*, [links](…)) made
/// one safe line: kept as written but for what would start a block or raw HTML.
pub fn comment_line(text: &str) -> String {
    let one_line: String = text
        .chars()
        .map(|c| {
            if matches!(c, '\n' | '\r' | '\t') {
                ' '
            } else {
                c
            }
        })
        .collect();
    let one_line = one_line.trim();
    let mut out = String::with_capacity(one_line.len() + 4);
    for c in one_line.chars() {
        // Raw HTML is not comment syntax: shown as written.
        if c == '<' || c == '>' {
            out.push('\\');
        }
        out.push(c);
    }
    // Nothing that starts a block inside the list item: a heading, a quote, a list, a fence,
    // a rule.
    if out.starts_with(['#', '-', '+', '*', '=', '`', '~', '|']) || starts_with_ordinal(&out) {
        out.insert(0, '\\');
    }
    out
}

fn starts_with_ordinal(text: &str) -> bool {
    let digits = text.chars().take_while(char::is_ascii_digit).count();
    digits > 0 && matches!(text[digits..].chars().next(), Some('.' | ')'))
}

/// A tag's slug here: lower-case ASCII letters, digits and `-` (`c++` → `c-plus-plus`, `c#`
/// → `c-sharp`, `.net` → `dot-net`, `node.js` → `node-js`); a name with no such characters
/// (a tag in another script) gets `tag-` and a short hash of the name.
pub fn tag_slug(name: &str) -> String {
    let name = name.trim().to_lowercase();
    let mut words: Vec<String> = vec![String::new()];
    let mut first = true;
    for c in name.chars() {
        match c {
            'a'..='z' | '0'..='9' => {
                if let Some(word) = words.last_mut() {
                    word.push(c);
                }
            }
            '+' => words.push("plus".into()),
            '#' => words.push("sharp".into()),
            '.' if first => words.push("dot".into()),
            _ => {}
        }
        if !matches!(c, 'a'..='z' | '0'..='9') {
            words.push(String::new());
        }
        first = false;
    }
    let slug: Vec<&str> = words
        .iter()
        .map(String::as_str)
        .filter(|w| !w.is_empty())
        .collect();
    let mut slug = slug.join("-");
    if slug.len() > 64 {
        slug.truncate(64);
        slug = slug.trim_end_matches('-').to_string();
    }
    if slug.is_empty() {
        let hash = blake3::hash(name.as_bytes()).to_hex();
        return format!("tag-{}", &hash[..10]);
    }
    slug
}

/// The tags of a question, in either form: `<a><b>` (dumps until 2025) or `|a|b|` (newer).
pub fn parse_tags(field: &str) -> Vec<String> {
    let field = field.trim();
    let names: Vec<&str> = if field.starts_with('<') {
        field
            .trim_start_matches('<')
            .trim_end_matches('>')
            .split("><")
            .collect()
    } else {
        field.split('|').collect()
    };
    let mut out: Vec<String> = Vec::new();
    for name in names {
        let name = name.trim();
        if !name.is_empty() && !out.iter().any(|n| n == name) {
            out.push(name.to_string());
        }
    }
    out
}

/// A username made from a display name: letters (any script) and digits kept, anything else
/// a `_`, 2–30 characters, starting with a letter or digit; `user{id}` when nothing is left
/// (as Stack Exchange itself names such accounts). The store picks a free variant.
pub fn username_from(display_name: &str, source_id: i64) -> String {
    let mut name = String::new();
    let mut gap = false;
    for c in display_name.chars() {
        if c.is_alphanumeric() {
            if gap && !name.is_empty() {
                name.push('_');
            }
            gap = false;
            name.push(c);
        } else if matches!(c, '.' | '-' | '_') && !name.is_empty() && !gap {
            name.push(c);
        } else {
            gap = true;
        }
        if name.chars().count() >= 28 {
            break;
        }
    }
    let name = name.trim_end_matches(['.', '-', '_']).to_string();
    let fallback = || format!("user{}", source_id.unsigned_abs());
    if name.chars().count() < 2 || name.chars().all(|c| c.is_ascii_digit()) {
        return fallback();
    }
    if crate::services::accounts::check_username(&name).is_err() {
        // A reserved name or a look-alike of one (`Admin`, `Staff`): kept readable, but no
        // longer one.
        let marked = format!("{name}-se{}", source_id.unsigned_abs());
        if crate::services::accounts::check_username(&marked).is_ok() {
            return marked;
        }
        return fallback();
    }
    name
}

/// Line breaks made `\n` (revisions' text has Windows ones), and characters the forum cannot
/// store dropped (control characters but tab and line breaks).
pub fn clean(text: &str) -> String {
    let text = if text.contains('\r') {
        text.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        text.to_string()
    };
    if agora_store::forbidden_char(&text).is_none() {
        return text;
    }
    text.chars()
        .filter(|c| agora_store::forbidden_char(c.encode_utf8(&mut [0u8; 4])).is_none())
        .collect()
}

/// At most `max` characters.
pub fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => text[..at].to_string(),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn md(html: &str) -> String {
        to_markdown(&converter(), html)
    }

    #[test]
    fn code_blocks_inline_code_links_images_lists_quotes() {
        assert_eq!(
            md("<pre><code>let x = 1;\n</code></pre>"),
            "```\nlet x = 1;\n```"
        );
        assert_eq!(
            md("<pre>![Valid](http://w3.org/x).\n</pre>"),
            "```\n![Valid](http://w3.org/x).\n```",
            "a <pre> without <code> is still code"
        );
        assert_eq!(
            md("<pre class=\"lang-py prettyprint-override\"><code>print(1)\n</code></pre>"),
            "```py\nprint(1)\n```"
        );
        assert_eq!(md("<pre><code>a ``` b</code></pre>"), "````\na ``` b\n````");
        assert_eq!(
            md("<p>use <code>git log</code> here</p>"),
            "use `git log` here"
        );
        let link = md("<p><a href=\"https://example.com/a_(b)\">the docs</a></p>");
        assert!(
            agora_markup::render(&link).contains("href=\"https://example.com/a_(b)\""),
            "{link}"
        );
        assert_eq!(
            md(
                "<p><img src=\"https://i.stack.imgur.com/x.png\" alt=\"enter image description here\"></p>"
            ),
            "![image](https://i.stack.imgur.com/x.png)"
        );
        assert_eq!(
            md(
                "<p><a href=\"https://i.stack.imgur.com/big.png\"><img src=\"https://i.stack.imgur.com/x.png\" alt=\"A map\"></a></p>"
            ),
            "[![A map](https://i.stack.imgur.com/x.png)](https://i.stack.imgur.com/big.png)"
        );
        assert_eq!(
            md("<ul>\n<li>one</li>\n<li>two</li>\n</ul>"),
            "- one\n- two"
        );
        assert_eq!(md("<ol><li>one</li><li>two</li></ol>"), "1. one\n2. two");
        assert_eq!(md("<blockquote><p>quoted</p></blockquote>"), "> quoted");
        assert_eq!(md("<p>a [b] *c*</p>"), "a \\[b\\] \\*c\\*");
        assert_eq!(md("<script>alert(1)</script><p>ok</p>"), "ok");
    }

    #[test]
    fn tags_in_both_forms() {
        assert_eq!(
            parse_tags("<discussion><answers>"),
            ["discussion", "answers"]
        );
        assert_eq!(
            parse_tags("|discussion|answers|"),
            ["discussion", "answers"]
        );
        assert_eq!(parse_tags("<one>"), ["one"]);
        assert!(parse_tags("").is_empty());
        assert_eq!(tag_slug("c++"), "c-plus-plus");
        assert_eq!(tag_slug("c#"), "c-sharp");
        assert_eq!(tag_slug(".net"), "dot-net");
        assert_eq!(tag_slug("node.js"), "node-js");
        assert_eq!(tag_slug("feature-request"), "feature-request");
        assert!(tag_slug("日本語").starts_with("tag-"));
        assert!(agora_store::archive::is_slug(&tag_slug("日本語")));
    }

    #[test]
    fn usernames_from_display_names() {
        assert_eq!(username_from("Mark C. Wallace", 1), "Mark_C._Wallace");
        assert_eq!(username_from("Community", -1), "Community");
        assert_eq!(username_from("李明", 5), "李明");
        assert_eq!(username_from("?", 7), "user7");
        assert_eq!(username_from("Admin", 9), "Admin-se9");
        for name in [
            "Mark C. Wallace",
            "?",
            "Admin",
            "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p",
        ] {
            let made = username_from(name, 3);
            assert!(
                crate::services::accounts::check_username(&made).is_ok(),
                "{made}"
            );
        }
    }

    #[test]
    fn text_is_cleaned() {
        assert_eq!(clean("a\r\nb\rc\u{1}d"), "a\nb\ncd");
        assert_eq!(cut("héllo", 2), "hé");
    }

    #[test]
    fn comments_stay_one_line() {
        assert_eq!(comment_line("# not a heading"), "\\# not a heading");
        assert_eq!(comment_line("1. not a list"), "\\1. not a list");
        assert_eq!(comment_line("use <br> here\nok"), "use \\<br\\> here ok");
        assert_eq!(
            comment_line("see `code` and [x](https://x.y)"),
            "see `code` and [x](https://x.y)"
        );
        assert_eq!(escape_inline("a*b [c]"), "a\\*b \\[c\\]");
    }
}
