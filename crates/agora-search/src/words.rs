//! Words that carry no subject: the question and function words of English, Chinese and
//! Japanese ("how do I", "为什么", "どうすれば"). They never decide whether a thread matches:
//! a search drops them from its words (an exact phrase keeps them), unless nothing else is
//! left.

/// English question and function words, lowercase. Conservative: a word that names a subject
/// in a developer forum (`get`, `set`, `not`, `error`) is not here.
const ENGLISH: &[&str] = &[
    "a",
    "about",
    "after",
    "all",
    "also",
    "am",
    "an",
    "and",
    "any",
    "anyone",
    "anything",
    "are",
    "as",
    "at",
    "be",
    "been",
    "before",
    "being",
    "but",
    "by",
    "can",
    "cannot",
    "could",
    "did",
    "do",
    "does",
    "doing",
    "done",
    "for",
    "from",
    "had",
    "has",
    "have",
    "having",
    "he",
    "her",
    "here",
    "him",
    "his",
    "how",
    "i",
    "i'm",
    "im",
    "if",
    "in",
    "into",
    "is",
    "it",
    "it's",
    "its",
    "just",
    "me",
    "might",
    "my",
    "myself",
    "of",
    "on",
    "or",
    "our",
    "out",
    "please",
    "same",
    "she",
    "should",
    "so",
    "some",
    "someone",
    "something",
    "such",
    "than",
    "that",
    "the",
    "their",
    "them",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "to",
    "too",
    "very",
    "was",
    "way",
    "we",
    "were",
    "what",
    "whats",
    "what's",
    "when",
    "where",
    "which",
    "while",
    "who",
    "why",
    "will",
    "with",
    "without",
    "would",
    "you",
    "your",
    "anybody",
    "possible",
    "there's",
    "thanks",
    "help",
    "still",
    "only",
    "even",
    "really",
    "since",
    "again",
    "does't",
    "dont",
    "don't",
    "doesnt",
    "doesn't",
    "didnt",
    "didn't",
    "cant",
    "can't",
    "won't",
    "wont",
    "isn't",
    "isnt",
    "anymore",
];

/// Chinese question and function words (simplified and traditional), longest first. Single
/// characters only where they are almost never part of a word: 时 (超时, timeout), 会 (会话,
/// session) or 地 (地址, address) would cut subjects apart.
const CHINESE: &[&str] = &[
    "为什么",
    "為什麼",
    "怎么办",
    "怎麼辦",
    "怎么样",
    "怎麼樣",
    "能不能",
    "是不是",
    "有没有",
    "有沒有",
    "怎么",
    "怎麼",
    "怎样",
    "怎樣",
    "如何",
    "为何",
    "為何",
    "什么",
    "什麼",
    "哪个",
    "哪個",
    "哪些",
    "是否",
    "可以",
    "能否",
    "请问",
    "請問",
    "求助",
    "一下",
    "我们",
    "我們",
    "你们",
    "你們",
    "这个",
    "這個",
    "那个",
    "那個",
    "这样",
    "這樣",
    "时候",
    "時候",
    "应该",
    "應該",
    "的话",
    "的話",
    "的",
    "吗",
    "嗎",
    "呢",
    "吧",
    "啊",
    "我",
    "你",
];

/// Japanese question and function words, longest first.
const JAPANESE: &[&str] = &[
    "どうすればいい",
    "どうすれば",
    "でしょうか",
    "どうやって",
    "ありますか",
    "できますか",
    "ください",
    "について",
    "ですか",
    "ません",
    "ました",
    "ような",
    "どうして",
    "なぜ",
    "どう",
    "です",
    "ます",
    "したい",
    "しない",
    "する",
    "して",
    "した",
    "この",
    "その",
    "あの",
    "これ",
    "それ",
    "あれ",
    "こと",
    "もの",
    "ため",
    "とき",
    "場合",
    "方法",
];

/// Japanese particles: one hiragana each, dropped only right after a kanji or katakana word
/// (ネットワークの設定), never from inside a word written in hiragana (見つからない).
const PARTICLES: &[char] = &[
    'の', 'を', 'に', 'は', 'が', 'で', 'と', 'も', 'へ', 'や', 'か', 'ね', 'よ',
];

fn is_kanji_or_katakana(c: char) -> bool {
    matches!(c as u32, 0x30A0..=0x30FF | 0x31F0..=0x31FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF)
}

/// True for an English question or function word (matched on the word as typed, any case).
pub fn is_stopword(word: &str) -> bool {
    let lower = word.to_lowercase();
    let lower = lower.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'');
    ENGLISH.contains(&lower)
}

/// A CJK run with its question and function words replaced by spaces, so that what is left
/// is the subject ("我怎么在后台保持网络连接呢" → "在后台保持网络连接"). Other text is kept as it is.
pub fn strip_cjk_stopwords(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut previous: Option<char> = None;
    'outer: while let Some(c) = rest.chars().next() {
        if crate::analyzer::is_cjk(c) {
            for word in CHINESE.iter().chain(JAPANESE.iter()) {
                if rest.starts_with(word) {
                    out.push(' ');
                    rest = &rest[word.len()..];
                    previous = None;
                    continue 'outer;
                }
            }
            if PARTICLES.contains(&c) && previous.is_some_and(is_kanji_or_katakana) {
                out.push(' ');
                rest = &rest[c.len_utf8()..];
                previous = None;
                continue;
            }
        }
        out.push(c);
        previous = Some(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The words of `query` that decide what matches: question and function words left out (an
/// exact phrase keeps them), CJK runs without theirs; all of them when nothing else is left.
pub fn content_of(query: &crate::query::Query) -> crate::query::Query {
    use crate::query::Text;
    let mut content: Vec<Text> = Vec::new();
    for text in &query.required {
        match text {
            Text::Phrase(_) => content.push(text.clone()),
            Text::Word(w) if w.chars().any(crate::analyzer::is_cjk) => {
                content.extend(
                    strip_cjk_stopwords(w)
                        .split_whitespace()
                        .map(|piece| Text::Word(piece.to_string())),
                );
            }
            Text::Word(w) if is_stopword(w) => {}
            Text::Word(_) => content.push(text.clone()),
        }
    }
    let mut out = query.clone();
    if !content.is_empty() {
        out.required = content;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn question_words_are_stopwords_and_subjects_are_not() {
        for w in ["How", "do", "I", "why", "the", "of", "without", "What's"] {
            assert!(is_stopword(w), "{w}");
        }
        for w in ["socket", "get", "error", "not", "wifi", "timeout"] {
            assert!(!is_stopword(w), "{w}");
        }
    }

    #[test]
    fn cjk_question_words_leave_the_subject() {
        assert_eq!(
            strip_cjk_stopwords("我怎么在后台保持网络连接呢").trim(),
            "在后台保持网络连接"
        );
        assert_eq!(
            strip_cjk_stopwords("バックグラウンドでネットワークを使う方法").trim(),
            "バックグラウンド ネットワーク 使う"
        );
        assert_eq!(strip_cjk_stopwords("URLSession 超时"), "URLSession 超时");
        assert_eq!(strip_cjk_stopwords("会话地址"), "会话地址");
        assert_eq!(strip_cjk_stopwords("見つからない").trim(), "見つからない");
    }
}
