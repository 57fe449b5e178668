//! Agora's search: a tantivy index derived from the database, the analyzer for mixed English,
//! CJK and code text, the query language, and ranking. The binary feeds it documents and
//! change-log positions; nothing here knows SQL.

pub mod analyzer;
mod index;
pub mod query;
mod search;
mod snippet;
pub mod words;

pub use index::{
    FORMAT, IndexStatus, Mark, PostDoc, SearchError, SearchIndex, ThreadDoc, WHOLE_REPLIES,
    current_generation, remove_old_generations, whole_posts,
};
pub use query::{Query, Sort, State, Text, parse};
pub use search::{Correction, Found, Highlight, Hit};
pub use snippet::snippet_html;

/// Random multibyte text through the analyzer, the index, the query parser, searches and
/// snippets: a post's text must never be able to panic any of them.
#[cfg(test)]
mod fuzz {
    use super::*;
    use proptest::prelude::*;

    fn tricky_text() -> impl Strategy<Value = String> {
        let c = prop_oneof![
            4 => prop::sample::select(vec![
                '&', '<', '>', ';', '#', '.', '_', '-', '"', ':', ' ', '\n', '，', '。', 'a', 'Z',
                '0', '9',
            ]),
            4 => prop::sample::select(vec![
                '🎉', '‹', '中', '文', '网', '络', '日', '本', 'ア', 'ー', 'é', 'ß', 'İ',
                '\u{200b}', '\u{301}', '\u{fffd}', 'Ω', '한', '\u{1}', '\u{7f}', 'ǅ',
            ]),
            2 => any::<char>(),
            3 => prop::char::range('a', 'z'),
        ];
        prop::collection::vec(c, 0..120).prop_map(|c| c.into_iter().collect())
    }

    fn thread(id: i64) -> ThreadDoc {
        ThreadDoc {
            id,
            title: format!("thread {id}"),
            subtopic: "area/sub".into(),
            tags: vec!["tag".into()],
            created: 1,
            solved: false,
            staff_answered: false,
            locked: false,
            reply_count: 0,
            accepted_post: None,
            recommended_post: None,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn analyzer_and_snippets_take_any_text(text in tricky_text(), query in tricky_text()) {
            let mut a = analyzer::text_analyzer();
            let tokens = analyzer::tokens(&mut a, &text);
            for t in &tokens {
                prop_assert!(text.is_char_boundary(t.offset_from) && text.is_char_boundary(t.offset_to));
            }
            let _ = analyzer::tokens(&mut analyzer::cjk1_analyzer(), &text);
            let _ = parse(&query);
        }
    }

    proptest! {
        // Each case builds an index on disk: fewer cases, several posts each.
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        #[test]
        fn index_search_and_snippets_take_any_text(texts in prop::collection::vec(tricky_text(), 1..8)) {
            let dir = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
            let index = SearchIndex::open(dir.path(), 1, 16 << 20).map_err(|e| TestCaseError::fail(e.to_string()))?;
            for (i, text) in texts.iter().enumerate() {
                let id = i as i64 + 1;
                let post = PostDoc { id, position: 0, author: "a".into(), created: 1, boosts: 0, text: text.clone() };
                index.replace_thread(&thread(id), &[post]).map_err(|e| TestCaseError::fail(e.to_string()))?;
            }
            index.commit(&Mark { position: 1, at: None, database: None, format: index::FORMAT }).map_err(|e| TestCaseError::fail(e.to_string()))?;
            // Query with pieces of the posts themselves, so searches match and snippets are cut.
            for text in &texts {
                let words: Vec<&str> = text.split_whitespace().take(3).collect();
                for q in [words.join(" "), text.chars().take(6).collect::<String>(), format!("\"{}\"", words.join(" "))] {
                    let found = index.search(&parse(&q), 0, 10).map_err(|e| TestCaseError::fail(e.to_string()))?;
                    for other in &texts {
                        let _ = snippet_html(other, &found.highlight, 40);
                    }
                }
            }
        }
    }
}
