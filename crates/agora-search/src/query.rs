//! The query language: words, "exact phrases", -exclusions and `key:value` filters.
//!
//! Parsing never fails: what cannot be understood is searched as words or left out, and a
//! notice says so, so a person always gets results and a hint rather than an error page.

use chrono::NaiveDate;

/// The longest query read, in characters; more is cut with a notice.
pub const MAX_QUERY_CHARS: usize = 500;
/// The most words and phrases used; more are left out with a notice.
pub const MAX_TERMS: usize = 24;

/// Result order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Sort {
    /// Best match first (BM25, title boost, answers, recency as a tiebreak).
    #[default]
    Relevance,
    /// Most recent matching post first.
    Activity,
    /// Newest thread first.
    Newest,
    /// Most boosted matching post first.
    Boosts,
}

impl Sort {
    /// Every order, in the order the page offers them.
    pub const ALL: [Sort; 4] = [Sort::Relevance, Sort::Activity, Sort::Newest, Sort::Boosts];

    /// The keyword used after `sort:`.
    pub fn keyword(self) -> &'static str {
        match self {
            Sort::Relevance => "relevance",
            Sort::Activity => "activity",
            Sort::Newest => "newest",
            Sort::Boosts => "boosts",
        }
    }

    fn parse(value: &str) -> Option<Sort> {
        Sort::ALL.into_iter().find(|s| s.keyword() == value)
    }
}

/// A thread state that `is:` filters by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Solved,
    Unanswered,
    Staff,
    Locked,
}

impl State {
    /// Every state, as the help lists them.
    pub const ALL: [State; 4] = [
        State::Solved,
        State::Unanswered,
        State::Staff,
        State::Locked,
    ];

    /// The keyword used after `is:`, also the term indexed.
    pub fn keyword(self) -> &'static str {
        match self {
            State::Solved => "solved",
            State::Unanswered => "unanswered",
            State::Staff => "staff",
            State::Locked => "locked",
        }
    }

    fn parse(value: &str) -> Option<State> {
        State::ALL.into_iter().find(|s| s.keyword() == value)
    }
}

/// One required or excluded piece of text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Text {
    /// A word as typed (analysis happens when the query runs).
    Word(String),
    /// Words that must appear together, in order.
    Phrase(String),
}

impl Text {
    fn render(&self) -> String {
        match self {
            Text::Word(w) => w.clone(),
            Text::Phrase(p) => format!("\"{p}\""),
        }
    }
}

/// A parsed query.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    /// Words and phrases that must all match.
    pub required: Vec<Text>,
    /// Words and phrases that must not match.
    pub excluded: Vec<Text>,
    /// Tag slugs; a thread must carry all of them.
    pub tags: Vec<String>,
    /// Subtopic slug.
    pub subtopic: Option<String>,
    /// Username (lowercased) of the matching post's author.
    pub author: Option<String>,
    /// Thread states required.
    pub states: Vec<State>,
    /// Only posts written before this day (UTC).
    pub before: Option<NaiveDate>,
    /// Only posts written on or after this day (UTC).
    pub after: Option<NaiveDate>,
    /// Result order.
    pub sort: Sort,
    /// What was not understood or left out, in words a person can act on.
    pub notices: Vec<String>,
}

impl Query {
    /// True when there is nothing to search by: no words, phrases or filters.
    pub fn is_empty(&self) -> bool {
        self.required.is_empty() && !self.has_filters()
    }

    /// True when a filter narrows the search.
    pub fn has_filters(&self) -> bool {
        !self.tags.is_empty()
            || self.subtopic.is_some()
            || self.author.is_some()
            || !self.states.is_empty()
            || self.before.is_some()
            || self.after.is_some()
    }

    /// The query written back in the language, with `replace` applied to required words
    /// (for "did you mean").
    pub fn render_with(&self, replace: &dyn Fn(&str) -> Option<String>) -> String {
        let mut parts: Vec<String> = Vec::new();
        for t in &self.required {
            parts.push(match t {
                Text::Word(w) => replace(w).unwrap_or_else(|| w.clone()),
                other => other.render(),
            });
        }
        parts.extend(self.excluded.iter().map(|t| format!("-{}", t.render())));
        parts.extend(self.tags.iter().map(|t| format!("tag:{t}")));
        parts.extend(self.subtopic.iter().map(|s| format!("in:{s}")));
        parts.extend(self.author.iter().map(|a| format!("author:{a}")));
        parts.extend(self.states.iter().map(|s| format!("is:{}", s.keyword())));
        parts.extend(self.before.iter().map(|d| format!("before:{d}")));
        parts.extend(self.after.iter().map(|d| format!("after:{d}")));
        if self.sort != Sort::Relevance {
            parts.push(format!("sort:{}", self.sort.keyword()));
        }
        parts.join(" ")
    }
}

/// One lexical piece of the query string.
enum Piece {
    Word(String),
    Phrase(String),
}

/// Splits on whitespace, keeping "quoted phrases" (and `key:"quoted values"`) together.
/// Returns the pieces, each with whether it was negated, and whether a quote was left open.
fn pieces(input: &str) -> (Vec<(bool, Piece)>, bool) {
    let mut out = Vec::new();
    let mut chars = input.chars().peekable();
    let mut unclosed = false;
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else { break };
        let mut negated = false;
        if first == '-' {
            chars.next();
            match chars.peek() {
                // `-1009` is an error code, not an exclusion.
                Some(c) if c.is_ascii_digit() => {
                    let mut word = String::from("-");
                    while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                        word.push(c);
                    }
                    out.push((false, Piece::Word(word)));
                    continue;
                }
                Some(c) if !c.is_whitespace() => negated = true,
                _ => continue,
            }
        }
        if chars.peek() == Some(&'"') {
            chars.next();
            let mut phrase = String::new();
            let mut closed = false;
            for c in chars.by_ref() {
                if c == '"' {
                    closed = true;
                    break;
                }
                phrase.push(c);
            }
            unclosed |= !closed;
            out.push((negated, Piece::Phrase(phrase)));
            continue;
        }
        let mut word = String::new();
        while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
            word.push(c);
            // `key:"a quoted value"` stays one piece.
            if c == ':' && chars.peek() == Some(&'"') {
                chars.next();
                let mut closed = false;
                for c in chars.by_ref() {
                    if c == '"' {
                        closed = true;
                        break;
                    }
                    word.push(c);
                }
                unclosed |= !closed;
                break;
            }
        }
        out.push((negated, Piece::Word(word)));
    }
    (out, unclosed)
}

fn parse_day(value: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .or_else(|| NaiveDate::parse_from_str(&format!("{value}-01"), "%Y-%m-%d").ok())
        .or_else(|| NaiveDate::parse_from_str(&format!("{value}-01-01"), "%Y-%m-%d").ok())
}

/// Parses a query; never fails (see the module documentation).
pub fn parse(input: &str) -> Query {
    let mut query = Query::default();
    let input = match input.char_indices().nth(MAX_QUERY_CHARS) {
        Some((cut, _)) => {
            query.notices.push(format!(
                "Your search was longer than {MAX_QUERY_CHARS} characters; the rest was left out."
            ));
            &input[..cut]
        }
        None => input,
    };
    let (pieces, unclosed) = pieces(input);
    if unclosed {
        query
            .notices
            .push("A closing quote was missing; the phrase ran to the end of your search.".into());
    }
    for (negated, piece) in pieces {
        let word = match piece {
            Piece::Phrase(p) => {
                let p = p.split_whitespace().collect::<Vec<_>>().join(" ");
                if !p.is_empty() {
                    push_text(&mut query, negated, Text::Phrase(p));
                }
                continue;
            }
            Piece::Word(w) => w,
        };
        if let Some((key, value)) = word.split_once(':')
            && let Some(handled) = operator(&mut query, negated, key, value)
        {
            if !handled {
                push_text(&mut query, negated, Text::Word(word));
            }
            continue;
        }
        push_text(&mut query, negated, Text::Word(word));
    }
    if query.required.is_empty() && !query.has_filters() && !query.excluded.is_empty() {
        query.notices.push(
            "A search needs at least one word or filter to look for; exclusions alone match nothing."
                .into(),
        );
    }
    query
}

fn push_text(query: &mut Query, negated: bool, text: Text) {
    if query.required.len() + query.excluded.len() >= MAX_TERMS {
        let notice = format!("Only the first {MAX_TERMS} words and phrases were used.");
        if !query.notices.contains(&notice) {
            query.notices.push(notice);
        }
        return;
    }
    if negated {
        query.excluded.push(text);
    } else {
        query.required.push(text);
    }
}

/// Applies `key:value` if `key` is an operator: `Some(true)` when used, `Some(false)` when the
/// word should be searched as typed after all, `None` when `key` is not an operator.
fn operator(query: &mut Query, negated: bool, key: &str, value: &str) -> Option<bool> {
    let key = key.to_ascii_lowercase();
    if !matches!(
        key.as_str(),
        "tag" | "in" | "author" | "is" | "before" | "after" | "sort"
    ) {
        return None;
    }
    let value = value.trim();
    if value.is_empty() {
        query.notices.push(format!(
            "{key}: needs a value after the colon, for example {}.",
            example(&key)
        ));
        return Some(true);
    }
    if negated {
        query.notices.push(format!(
            "-{key}: is not supported; filters can only be required. It was left out."
        ));
        return Some(true);
    }
    let lower = value.to_lowercase();
    match key.as_str() {
        "tag" => {
            if !query.tags.contains(&lower) {
                query.tags.push(lower);
            }
        }
        "in" => {
            if query.subtopic.is_some() {
                query
                    .notices
                    .push(format!("Only one in: filter is used; in:{lower} was left out."));
            } else {
                query.subtopic = Some(lower);
            }
        }
        "author" => query.author = Some(lower.trim_start_matches('@').to_string()),
        "is" => match State::parse(&lower) {
            Some(state) if !query.states.contains(&state) => query.states.push(state),
            Some(_) => {}
            None => query.notices.push(format!(
                "is:{value} is not a filter; use is:solved, is:unanswered, is:staff or is:locked."
            )),
        },
        "before" | "after" => match parse_day(value) {
            Some(day) if key == "before" => query.before = Some(day),
            Some(day) => query.after = Some(day),
            None => query.notices.push(format!(
                "{key}:{value} is not a date; write it as {key}:2025-03-31 (or 2025-03, or 2025)."
            )),
        },
        "sort" => match Sort::parse(&lower) {
            Some(sort) => query.sort = sort,
            None => query.notices.push(format!(
                "sort:{value} is not an order; use sort:relevance, sort:activity, sort:newest or sort:boosts."
            )),
        },
        _ => return Some(false),
    }
    Some(true)
}

fn example(key: &str) -> &'static str {
    match key {
        "tag" => "tag:urlsession",
        "in" => "in:networking",
        "author" => "author:quinn",
        "is" => "is:solved",
        "before" => "before:2025-01-01",
        "after" => "after:2024-06-01",
        _ => "sort:newest",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(list: &[&str]) -> Vec<Text> {
        list.iter().map(|w| Text::Word(w.to_string())).collect()
    }

    #[test]
    fn words_phrases_and_exclusions() {
        let q = parse(r#"nwconnection "no space left" -cellular -"wi-fi only""#);
        assert_eq!(
            q.required,
            vec![
                Text::Word("nwconnection".into()),
                Text::Phrase("no space left".into())
            ]
        );
        assert_eq!(
            q.excluded,
            vec![
                Text::Word("cellular".into()),
                Text::Phrase("wi-fi only".into())
            ]
        );
        assert!(q.notices.is_empty());
    }

    #[test]
    fn a_minus_before_a_digit_is_an_error_code() {
        let q = parse("NSURLErrorDomain -1009");
        assert_eq!(q.required, words(&["NSURLErrorDomain", "-1009"]));
        assert!(q.excluded.is_empty());
    }

    #[test]
    fn every_operator() {
        let q = parse(
            "tag:URLSession tag:quic in:networking author:@Quinn is:solved is:staff is:locked \
             is:unanswered before:2025-03-31 after:2024-06 sort:newest timeout",
        );
        assert_eq!(q.tags, ["urlsession", "quic"]);
        assert_eq!(q.subtopic.as_deref(), Some("networking"));
        assert_eq!(q.author.as_deref(), Some("quinn"));
        assert_eq!(
            q.states,
            [
                State::Solved,
                State::Staff,
                State::Locked,
                State::Unanswered
            ]
        );
        assert_eq!(q.before, NaiveDate::from_ymd_opt(2025, 3, 31));
        assert_eq!(q.after, NaiveDate::from_ymd_opt(2024, 6, 1));
        assert_eq!(q.sort, Sort::Newest);
        assert_eq!(q.required, words(&["timeout"]));
        assert!(q.notices.is_empty(), "{:?}", q.notices);
    }

    #[test]
    fn quoted_operator_values() {
        let q = parse(r#"author:"Li Wei" crash"#);
        assert_eq!(q.author.as_deref(), Some("li wei"));
        assert_eq!(q.required, words(&["crash"]));
    }

    #[test]
    fn malformed_parts_give_notices_not_errors() {
        let q = parse("is:famous before:yesterday sort:random tag: \"unclosed phrase");
        assert!(q.states.is_empty() && q.before.is_none() && q.sort == Sort::Relevance);
        assert_eq!(q.required, vec![Text::Phrase("unclosed phrase".into())]);
        let all = q.notices.join(" | ");
        for needle in [
            "is:famous is not a filter",
            "before:yesterday is not a date",
            "sort:random is not an order",
            "tag: needs a value",
            "closing quote was missing",
        ] {
            assert!(all.contains(needle), "{needle} not in {all}");
        }
    }

    #[test]
    fn unknown_keys_and_colons_are_plain_words() {
        let q = parse("std::io https://example.com foo:bar");
        assert_eq!(
            q.required,
            words(&["std::io", "https://example.com", "foo:bar"])
        );
        assert!(q.notices.is_empty());
    }

    #[test]
    fn exclusions_alone_are_explained() {
        let q = parse("-cellular");
        assert!(q.is_empty());
        assert!(q.notices[0].contains("at least one word"));
        assert!(parse("   ").is_empty() && parse("").notices.is_empty());
    }

    #[test]
    fn filters_alone_are_a_search() {
        let q = parse("tag:quic is:solved");
        assert!(!q.is_empty() && q.required.is_empty());
    }

    #[test]
    fn long_queries_are_cut_with_a_notice() {
        let q = parse(&"word ".repeat(200));
        assert_eq!(q.required.len(), MAX_TERMS);
        assert_eq!(q.notices.len(), 2, "{:?}", q.notices);
    }

    #[test]
    fn rendering_round_trips_and_replaces_words() {
        let q = parse(r#"netwrok "exact phrase" -noise tag:quic is:solved sort:boosts"#);
        let fixed = q.render_with(&|w| (w == "netwrok").then(|| "network".to_string()));
        assert_eq!(
            fixed,
            r#"network "exact phrase" -noise tag:quic is:solved sort:boosts"#
        );
        assert_eq!(parse(&fixed).render_with(&|_| None), fixed);
    }
}
