//! The API contract's constraints, built from the rules the services enforce (their constants
//! and enums), so the OpenAPI document is exactly as strict as the server: what it calls valid
//! is accepted, what it calls invalid is refused.
//!
//! Lengths count characters (Unicode scalar values, as JSON Schema's `minLength` does and
//! Rust's `chars()` do). Where a service trims white space before counting a minimum, the
//! `pattern` says so: white space at the ends is allowed, and what lies between must reach the
//! minimum. White space is Unicode's `White_Space` (what `str::trim` removes), written out as
//! ranges so every regex dialect reads it the same way.

use crate::views::schema::FORBIDDEN;
use agora_store::{PinScope, ThreadKind};
use utoipa::openapi::schema::{ArrayBuilder, Object, ObjectBuilder, SchemaType, Type};
use utoipa::openapi::{Array, KnownFormat, SchemaFormat};

use crate::api::write::Resolution;
use crate::services::accounts::USERNAME_CHARS;
use crate::services::moderation::REASON_CHARS;
use crate::services::posting::{BODY_CHARS, EDIT_REASON_CHARS, MAX_TAGS, TITLE_CHARS};
use crate::views::schema::one_of;

/// Unicode `White_Space`, as a character-class body.
const SPACE: &str =
    r"\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";
/// `White_Space` that is not a control character.
const SPACE_PRINTABLE: &str = r"\u0020\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";
/// Control characters (`Cc`, what `char::is_control` matches).
const CONTROL: &str = r"\u0000-\u001f\u007f-\u009f";
/// `White_Space` a text field may hold: the printable kinds, tab, line feed, carriage return.
const SPACE_IN_TEXT: &str =
    r"\u0009\u000a\u000d\u0020\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

// ---- path parameters ----

/// A username as a path segment: anything of the right length may be asked for (an unknown
/// name is 404).
pub fn username() -> Object {
    string()
        .min_length(Some(USERNAME_CHARS.0))
        .max_length(Some(USERNAME_CHARS.1))
        .build()
}

// ---- request bodies ----

/// Text whose ends are trimmed before its minimum is counted: `min` characters or more from
/// the first to the last that is not white space, at most `max` characters in all, and in
/// between no character of `refused` (control characters, say).
fn trimmed_text(min: usize, max: usize, space: &str, refused: &str) -> ObjectBuilder {
    // The first and the last kept character: neither white space nor refused.
    let edge = format!("[^{space}{refused}]");
    let inner = if refused.is_empty() {
        r"[\s\S]".to_string()
    } else {
        format!("[^{refused}]")
    };
    let core = match min {
        0 | 1 => format!("{edge}(?:{inner}*{edge})?"),
        n => format!("{edge}{inner}{{{},}}{edge}", n - 2),
    };
    let pattern = format!("^[{space}]*{core}[{space}]*$");
    string()
        .min_length(Some(min))
        .max_length(Some(max))
        .pattern(Some(pattern))
}

/// A thread's title: [`TITLE_CHARS`], no control characters anywhere.
pub fn title() -> Object {
    trimmed_text(TITLE_CHARS.0, TITLE_CHARS.1, SPACE_PRINTABLE, CONTROL)
        .examples(["UDP receive handler fires only once"])
        .build()
}

/// An opening post's new title, or null to keep it.
pub fn title_or_null() -> Object {
    let mut schema = title();
    schema.schema_type = SchemaType::from_iter([Type::String, Type::Null]);
    schema
}

/// A post's Markdown: [`BODY_CHARS`], no forbidden control characters.
pub fn body() -> Object {
    trimmed_text(BODY_CHARS.0, BODY_CHARS.1, SPACE_IN_TEXT, FORBIDDEN)
        .examples(["Call `receiveMessage` again from its completion handler."])
        .build()
}

/// A reason readers are shown (locks, hidden posts, flags, suspensions): required, at most
/// [`REASON_CHARS`], no forbidden control characters once its ends are trimmed.
pub fn reason() -> Object {
    trimmed_text(1, REASON_CHARS, SPACE, FORBIDDEN)
        .examples(["Off topic for this subtopic."])
        .build()
}

/// An edit's reason, shown in the revision history: optional, at most [`EDIT_REASON_CHARS`].
pub fn edit_reason() -> Object {
    string()
        .max_length(Some(EDIT_REASON_CHARS))
        .pattern(Some(format!("^[^{FORBIDDEN}]*$")))
        .default(Some("".into()))
        .examples(["Added the crash log."])
        .build()
}

/// Tag slugs: 1 to [`MAX_TAGS`] existing tags.
pub fn tags() -> Array {
    ArrayBuilder::new()
        .items(string())
        .min_items(Some(1))
        .max_items(Some(MAX_TAGS))
        .examples([serde_json::json!(["network", "quic"])])
        .build()
}

/// New tags for an opening post, or null to keep them.
pub fn tags_or_null() -> Array {
    let mut schema = tags();
    schema.schema_type = SchemaType::from_iter([Type::Array, Type::Null]);
    schema
}

/// `area/subtopic`, an existing subtopic.
pub fn subtopic() -> Object {
    string()
        .examples(["app-system-services/networking"])
        .build()
}

pub fn thread_kind() -> Object {
    one_of(ThreadKind::ALL.iter().map(|s| s.as_str()))
        .default(Some(ThreadKind::Question.as_str().into()))
        .build()
}

/// A flag's resolution.
pub fn resolution() -> Object {
    one_of(Resolution::ALL.map(Resolution::as_str)).build()
}

/// Markdown to preview: at most [`BODY_CHARS`]`.1` characters, even too little to post.
pub fn preview_body() -> Object {
    string().max_length(Some(BODY_CHARS.1)).build()
}

/// Where a thread is pinned, or `none`.
pub fn pin_choice() -> Object {
    one_of(PinScope::ALL.iter().map(|s| s.as_str()).chain(["none"])).build()
}

/// The last day of a suspension, RFC 3339 `full-date` (`YYYY-MM-DD`), in the future.
pub fn suspension_end() -> Object {
    string()
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
        .examples(["2031-01-31"])
        .build()
}

/// A post's id in a request body: a positive integer.
pub fn post_id() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(1))
        .examples([22])
        .build()
}

/// Text a draft keeps as typed: at most `max` characters, no forbidden control characters,
/// even too little to publish.
pub fn draft_text(max: usize) -> Object {
    string()
        .max_length(Some(max))
        .pattern(Some(format!("^[^{FORBIDDEN}]*$")))
        .default(Some("".into()))
        .build()
}

/// A draft's body.
pub fn draft_body() -> Object {
    draft_text(BODY_CHARS.1)
}

/// A draft's title.
pub fn draft_title() -> Object {
    draft_text(TITLE_CHARS.1)
}

/// A draft's tags field.
pub fn draft_tags() -> Object {
    draft_text(crate::services::drafts::TAGS_CHARS)
}

/// A draft's edit reason.
pub fn draft_reason() -> Object {
    draft_text(EDIT_REASON_CHARS)
}

/// A draft's subtopic as chosen (`area/subtopic`, or empty).
pub fn draft_subtopic() -> Object {
    draft_text(200)
}

/// A draft's thread kind as chosen (or empty).
pub fn draft_thread_kind() -> Object {
    one_of(std::iter::once("").chain(ThreadKind::ALL.iter().map(|s| s.as_str())))
        .default(Some("".into()))
        .build()
}

/// Where a draft belongs: `thread`, `reply:{thread id}` or `edit:{post id}`.
pub fn draft_place() -> Object {
    string()
        .pattern(Some(
            r"^(thread|reply:[1-9][0-9]{0,17}|edit:[1-9][0-9]{0,17})$".to_string(),
        ))
        .examples(["reply:6"])
        .build()
}

/// A bookmark's note: at most [`crate::services::bookmarks::NOTE_CHARS`] characters, no
/// forbidden control characters.
pub fn bookmark_note() -> Object {
    draft_text(crate::services::bookmarks::NOTE_CHARS)
}

/// When a bookmark's reminder is due: an RFC 3339 date-time in the future (at most
/// [`crate::services::bookmarks::MAX_AHEAD_DAYS`] days ahead), or null for none.
pub fn remind_at() -> Object {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
        .description(Some(format!(
            "When to be reminded, RFC 3339, in the future and at most {} days ahead; null or \
             absent: no reminder (a reminder set before is cleared).",
            crate::services::bookmarks::MAX_AHEAD_DAYS
        )))
        .examples(["2031-01-31T09:00:00Z"])
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::accounts::FieldErrors;
    use crate::services::{moderation, posting};

    /// What the schema says of `text`: its pattern (as a Rust regex, which reads these escapes
    /// as ECMA-262 and Python do) and its lengths in characters.
    fn schema_accepts(schema: &Object, text: &str) -> bool {
        let n = text.chars().count();
        let pattern = schema
            .pattern
            .as_deref()
            .map(|p| regex::Regex::new(p).unwrap_or_else(|e| panic!("pattern {p}: {e}")));
        schema.min_length.is_none_or(|min| n >= min)
            && schema.max_length.is_none_or(|max| n <= max)
            && pattern.is_none_or(|p| p.is_match(text))
    }

    /// Strings at every edge the rules have: lengths around each limit, white space of every
    /// kind at the ends and inside, control characters, line breaks, other scripts.
    fn samples(min: usize, max: usize) -> Vec<String> {
        let mut out = Vec::new();
        let fills = ["a", "é", "字", " ", "\u{3000}", "\n"];
        for n in [
            0,
            1,
            min.saturating_sub(1),
            min,
            min + 1,
            max - 1,
            max,
            max + 1,
        ] {
            for fill in fills {
                let body: String = fill.repeat(n.saturating_sub(2));
                for (start, end) in [
                    ("x", "y"),
                    (" ", "y"),
                    ("x", " "),
                    ("\t", "y"),
                    ("x", "\u{a0}"),
                ] {
                    out.push(format!("{start}{body}{end}"));
                }
                out.push(fill.repeat(n));
            }
        }
        for n in [min, max] {
            let core = "b".repeat(n.saturating_sub(2));
            for space in [
                " ", "\t", "\n", "\r", "\u{85}", "\u{a0}", "\u{2003}", "\u{2028}", "\u{3000}",
                "\u{feff}", "\u{200b}",
            ] {
                out.push(format!("{space}a{core}z{space}"));
                out.push(format!("a{core}z{space}{space}"));
                out.push(format!("a{space}{}z", "b".repeat(n.saturating_sub(3))));
            }
            for control in [
                "\u{0}", "\u{7}", "\u{b}", "\u{1b}", "\u{7f}", "\u{9f}", "\t", "\r",
            ] {
                out.push(format!("a{control}{}z", "b".repeat(n.saturating_sub(3))));
                out.push(format!("{control}a{core}z"));
            }
        }
        out
    }

    fn agree(name: &str, schema: &Object, min: usize, max: usize, server: impl Fn(&str) -> bool) {
        for text in samples(min, max) {
            assert_eq!(
                schema_accepts(schema, &text),
                server(&text),
                "{name}: the schema and the server disagree on {text:?} ({} characters)",
                text.chars().count()
            );
        }
    }

    #[test]
    fn titles_are_described_exactly() {
        agree("title", &title(), TITLE_CHARS.0, TITLE_CHARS.1, |text| {
            let mut errors = FieldErrors::default();
            posting::check_title(text, &mut errors);
            errors.is_empty()
        });
    }

    #[test]
    fn bodies_are_described_exactly() {
        agree("body", &body(), BODY_CHARS.0, BODY_CHARS.1, |text| {
            let mut errors = FieldErrors::default();
            posting::check_body(text, &mut errors);
            errors.is_empty()
        });
    }

    #[test]
    fn edit_reasons_are_described_exactly() {
        agree(
            "edit reason",
            &edit_reason(),
            0,
            EDIT_REASON_CHARS,
            |text| {
                text.chars().count() <= EDIT_REASON_CHARS
                    && crate::services::accounts::forbidden_char(text).is_none()
            },
        );
    }

    #[test]
    fn reasons_are_described_exactly() {
        agree("reason", &reason(), 1, REASON_CHARS, |text| {
            moderation::reason(text, "reason", true).is_ok()
        });
    }
}
