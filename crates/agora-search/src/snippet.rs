//! Snippets: the passage of a post that holds the most query terms, HTML-escaped, with the
//! matched words in `<mark>`.

use crate::analyzer;
use crate::search::Highlight;

/// The best passage of `text` of about `max_chars` characters, as safe HTML.
pub fn snippet_html(text: &str, highlight: &Highlight, max_chars: usize) -> String {
    let mut ranges: Vec<(usize, usize, String)> = Vec::new();
    if !highlight.text.is_empty() {
        // Stemming every word of a post is most of a snippet's cost: split first, and analyse
        // fully only the words that could stem to a highlighted term (an ASCII word keeps its
        // first two letters when stemmed; anything else is always analysed).
        let prefixes: Vec<&str> = highlight
            .text
            .iter()
            .map(|t| t.get(..2).unwrap_or(t.as_str()))
            .collect();
        let mut full = analyzer::text_analyzer();
        let mut raw = analyzer::TextAnalyzer::builder(analyzer::MixedTokenizer).build();
        for t in analyzer::tokens(&mut raw, text) {
            let word = &t.text;
            if word.is_ascii() && !prefixes.iter().any(|p| word.starts_with(p)) {
                continue;
            }
            let Some(term) = analyzer::tokens(&mut full, word).into_iter().next() else {
                continue;
            };
            if highlight.text.contains(&term.text) {
                ranges.push((t.offset_from, t.offset_to, term.text));
            }
        }
    }
    if !highlight.cjk1.is_empty() {
        for t in analyzer::tokens(&mut analyzer::cjk1_analyzer(), text) {
            if highlight.cjk1.contains(&t.text) {
                ranges.push((t.offset_from, t.offset_to, t.text));
            }
        }
    }
    ranges.sort_by_key(|r| (r.0, r.1));
    // The window (in bytes; characters vary in width, so it is widened for CJK below) that
    // holds the most distinct terms, starting a little before a match.
    let budget = byte_budget(text, max_chars);
    let mut best = (0usize, 0usize);
    for (i, (from, _, _)) in ranges.iter().enumerate() {
        let mut distinct: Vec<&str> = Vec::new();
        for (f, _, term) in &ranges[i..] {
            if *f >= from + budget {
                break;
            }
            if !distinct.contains(&term.as_str()) {
                distinct.push(term);
            }
        }
        if distinct.len() > best.0 {
            best = (distinct.len(), i);
        }
    }
    let start = if ranges.is_empty() {
        0
    } else {
        let lead = budget / 6;
        back_to_boundary(text, ranges[best.1].0.saturating_sub(lead))
    };
    let end = forward_to_boundary(text, (start + budget).min(text.len()));
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    let mut at = start;
    let mut marks: Vec<(usize, usize)> = Vec::new();
    for (from, to, _) in ranges {
        if from < start || to > end {
            continue;
        }
        match marks.last_mut() {
            Some(last) if from <= last.1 => last.1 = last.1.max(to),
            _ => marks.push((from, to)),
        }
    }
    for (from, to) in marks {
        escape_into(&mut out, &text[at..from]);
        out.push_str("<mark>");
        escape_into(&mut out, &text[from..to]);
        out.push_str("</mark>");
        at = to;
    }
    escape_into(&mut out, &text[at..end]);
    if end < text.len() {
        out.push('…');
    }
    out
}

/// Bytes that hold about `max_chars` characters of `text`.
fn byte_budget(text: &str, max_chars: usize) -> usize {
    let sample: Vec<char> = text.chars().take(max_chars).collect();
    let bytes: usize = sample.iter().map(|c| c.len_utf8()).sum();
    bytes.max(max_chars)
}

fn back_to_boundary(text: &str, mut at: usize) -> usize {
    while at > 0 && !text.is_char_boundary(at) {
        at -= 1;
    }
    // Start at a word's beginning when there is a space close by.
    let mut floor = at.saturating_sub(20);
    while !text.is_char_boundary(floor) {
        floor += 1;
    }
    // After the space, however wide it is (U+0085 and U+3000 take more than one byte).
    let before = &text[floor..at];
    match before.char_indices().rfind(|(_, c)| c.is_whitespace()) {
        Some((space, c)) => floor + space + c.len_utf8(),
        None => at,
    }
}

fn forward_to_boundary(text: &str, mut at: usize) -> usize {
    while at < text.len() && !text.is_char_boundary(at) {
        at += 1;
    }
    let ceiling = (at + 20).min(text.len());
    let mut ceiling_ok = ceiling;
    while !text.is_char_boundary(ceiling_ok) {
        ceiling_ok -= 1;
    }
    match text[at..ceiling_ok].find(char::is_whitespace) {
        Some(space) => at + space,
        None => at,
    }
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn highlight(terms: &[&str], cjk: &[&str]) -> Highlight {
        Highlight {
            text: terms.iter().map(|t| t.to_string()).collect(),
            cjk1: cjk.iter().map(|t| t.to_string()).collect(),
        }
    }

    #[test]
    fn a_passage_may_start_after_a_wide_space() {
        // U+0085 (two bytes) and U+3000 (three) are whitespace: the passage starts after the
        // whole character, never inside it (the fuzzer found a panic here).
        for space in ['\u{85}', '\u{3000}'] {
            let text = format!("{}{space}abcdefghi cellular timeout", "x".repeat(300));
            let html = snippet_html(&text, &highlight(&["cellular"], &[]), 40);
            assert!(html.contains("<mark>cellular</mark>"), "{html}");
        }
    }

    #[test]
    fn marks_matched_words_and_escapes_the_rest() {
        let html = snippet_html(
            "<b>Connections</b> fail & retry on cellular",
            &highlight(&["connect", "cellular"], &[]),
            200,
        );
        assert_eq!(
            html,
            "&lt;b&gt;<mark>Connections</mark>&lt;/b&gt; fail &amp; retry on <mark>cellular</mark>"
        );
    }

    #[test]
    fn picks_the_passage_with_the_most_terms() {
        let text = format!(
            "{} the timeout happens on cellular only {}",
            "filler ".repeat(60),
            "tail ".repeat(60)
        );
        let html = snippet_html(&text, &highlight(&["timeout", "cellular"], &[]), 60);
        assert!(html.starts_with('…') && html.ends_with('…'), "{html}");
        assert!(html.contains("<mark>timeout</mark>") && html.contains("<mark>cellular</mark>"));
        assert!(html.chars().count() < 120, "{html}");
    }

    #[test]
    fn cjk_bigrams_and_characters_are_marked() {
        let html = snippet_html(
            "设备存储空间充足但报错",
            &highlight(&["存储", "储空", "空间"], &["错"]),
            50,
        );
        assert_eq!(html, "设备<mark>存储空间</mark>充足但报<mark>错</mark>");
    }

    #[test]
    fn windows_never_split_a_character() {
        let text = "这个错误的名字很有误导性，在这里基本和磁盘空间没有关系。POSIX 28（ENOSPC）出现在网络请求中时，通常说明进程里的某种网络资源被耗尽了。 Ünïcödé wörds ☃ here";
        for (i, c) in text
            .char_indices()
            .filter(|(_, c)| super::super::analyzer::is_cjk(*c))
        {
            let _ = i;
            for max in [5, 17, 40, 200] {
                let html = snippet_html(
                    text,
                    &highlight(&["ünïcödé", "posix"], &[&c.to_string()]),
                    max,
                );
                assert!(!html.is_empty());
            }
        }
    }

    #[test]
    fn no_terms_gives_the_opening() {
        let html = snippet_html("short text", &Highlight::default(), 50);
        assert_eq!(html, "short text");
    }
}
