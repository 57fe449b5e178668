//! One analyzer for mixed text: Latin-script words, CJK runs and code-like tokens.
//!
//! - Words in alphabetic scripts are lowercased, ASCII-folded and stemmed (English).
//! - Runs of Han, Kana and Hangul become overlapping character bigrams (a lone character stays
//!   a unigram). A second analyzer emits every CJK character alone, for a second field, so a
//!   one-character query still finds something.
//! - Code-like tokens are kept whole and also split into their parts: `NWConnection` gives
//!   `nwconnection`, `nw`, `connection`; `snake_case`, `dotted.names` and `-1009` likewise.
//!
//! No dictionary, nothing downloaded: the same rules index and query.

pub use tantivy::tokenizer::TextAnalyzer;
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, RemoveLongFilter, Stemmer, Token, TokenStream, Tokenizer,
};

/// Name under which the mixed-text analyzer is registered with the index.
pub const TEXT: &str = "agora_text";
/// Name of the analyzer that emits single CJK characters.
pub const CJK1: &str = "agora_cjk1";

/// Longest term kept, in bytes: longer runs are hashes, base64 or minified junk.
const MAX_TOKEN_BYTES: usize = 64;

/// The analyzer for titles and bodies.
pub fn text_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(MixedTokenizer)
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(AsciiFoldingFilter)
        .filter(Stemmer::new(Language::English))
        .build()
}

/// The analyzer for the single-character CJK field.
pub fn cjk1_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(CjkCharTokenizer).build()
}

/// Runs `analyzer` over `text` and returns its tokens.
pub fn tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<Token> {
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        out.push(stream.token().clone());
    }
    out
}

/// Runs both analyzers over `text` and reports a panic instead of unwinding: the indexer
/// checks a post this way before giving up on a batch, so that one post an analyzer cannot
/// take is skipped (and reported) rather than stopping indexing for everyone.
pub fn check_text(text: &str) -> Result<(), String> {
    std::panic::catch_unwind(|| {
        let _ = tokens(&mut text_analyzer(), text);
        let _ = tokens(&mut cjk1_analyzer(), text);
    })
    .map_err(|panic| panic_message(panic.as_ref()))
}

/// The message a panic carried, for logs.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string())
}

/// Han, Kana, Hangul and their punctuation-free relatives: text written without spaces.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // Hiragana, Katakana (with ー)
        | 0x31F0..=0x31FF    // Katakana phonetic extensions
        | 0x3400..=0x4DBF    // CJK extension A
        | 0x4E00..=0x9FFF    // CJK unified ideographs
        | 0xF900..=0xFAFF    // CJK compatibility ideographs
        | 0xFF66..=0xFF9F    // half-width Katakana
        | 0x1100..=0x11FF    // Hangul Jamo
        | 0x3130..=0x318F    // Hangul compatibility Jamo
        | 0xAC00..=0xD7AF    // Hangul syllables
        | 0x20000..=0x2FA1F) // CJK extensions B–F and compatibility supplement
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() && !is_cjk(c)
}

/// Splits text by script; see the module documentation.
#[derive(Clone, Copy, Debug, Default)]
pub struct MixedTokenizer;

/// Emits each CJK character of the text as its own token.
#[derive(Clone, Copy, Debug, Default)]
pub struct CjkCharTokenizer;

/// Tokens computed up front, handed out one by one.
pub struct VecTokenStream {
    tokens: Vec<Token>,
    next: usize,
}

impl VecTokenStream {
    fn new(tokens: Vec<Token>) -> Self {
        VecTokenStream { tokens, next: 0 }
    }
}

impl TokenStream for VecTokenStream {
    fn advance(&mut self) -> bool {
        if self.next < self.tokens.len() {
            self.next += 1;
            true
        } else {
            false
        }
    }

    fn token(&self) -> &Token {
        &self.tokens[self.next - 1]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next - 1]
    }
}

impl Tokenizer for MixedTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        VecTokenStream::new(split_mixed(text))
    }
}

impl Tokenizer for CjkCharTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let tokens = text
            .char_indices()
            .filter(|(_, c)| is_cjk(*c))
            .enumerate()
            .map(|(position, (at, c))| token(at, at + c.len_utf8(), position, c.to_string()))
            .collect();
        VecTokenStream::new(tokens)
    }
}

fn token(from: usize, to: usize, position: usize, text: String) -> Token {
    Token {
        offset_from: from,
        offset_to: to,
        position,
        text,
        position_length: 1,
    }
}

/// The raw (lowercased, not yet folded or stemmed) tokens of `text`.
fn split_mixed(text: &str) -> Vec<Token> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let end_of = |i: usize| chars.get(i).map_or(text.len(), |(at, _)| *at);
    let mut out = Vec::new();
    let mut position = 0;
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        if is_cjk(c) {
            let start = i;
            while i < chars.len() && is_cjk(chars[i].1) {
                i += 1;
            }
            if i - start == 1 {
                out.push(token(at, end_of(i), position, c.to_string()));
                position += 1;
            } else {
                for (k, &(from, _)) in chars.iter().enumerate().take(i - 1).skip(start) {
                    let to = end_of(k + 2);
                    out.push(token(from, to, position, text[from..to].to_string()));
                    position += 1;
                }
            }
            // Punctuation ends a run of CJK text: leave a gap, so a phrase cannot span it.
            if chars
                .get(i)
                .is_some_and(|(_, n)| !n.is_alphanumeric() && !n.is_whitespace())
            {
                position += 1;
            }
            continue;
        }
        // A leading minus belongs to a number that starts here: `-1009`.
        let negative = c == '-'
            && chars.get(i + 1).is_some_and(|(_, d)| d.is_ascii_digit())
            && (i == 0 || !is_word(chars[i - 1].1));
        if !is_word(c) && !negative {
            i += 1;
            continue;
        }
        let start = i;
        if negative {
            i += 1;
        }
        // A compound: word characters joined by single `_` or `.` with word characters on both
        // sides (`snake_case`, `dotted.names`, `1.2.3`).
        while i < chars.len() {
            let joiner = i > start
                && match chars[i].1 {
                    '_' | '.' => {
                        is_word(chars[i - 1].1)
                            && chars.get(i + 1).is_some_and(|(_, n)| is_word(*n))
                    }
                    // Between letters only: `10-20` is a range, not a word.
                    '-' => {
                        chars[i - 1].1.is_alphabetic()
                            && !is_cjk(chars[i - 1].1)
                            && chars
                                .get(i + 1)
                                .is_some_and(|(_, n)| n.is_alphabetic() && !is_cjk(*n))
                    }
                    _ => false,
                };
            if is_word(chars[i].1) || joiner {
                i += 1;
            } else {
                break;
            }
        }
        let (from, to) = (chars[start].0, end_of(i));
        let whole = &text[from..to];
        let parts = code_parts(whole, from);
        if parts.len() > 1 || negative {
            // A hyphenated word is also its joined spelling: `Wi-Fi` is `wifi`, `e-mail` is
            // `email` (the leading minus of a number stays).
            let joined = if negative {
                whole.to_lowercase()
            } else {
                whole.to_lowercase().replace('-', "")
            };
            // An initialism written with dots is also the letters together: `B.C.` is `bc`.
            let initialism = parts.len() > 1
                && parts.iter().all(|(f, t)| text[*f..*t].chars().count() == 1)
                && whole.contains('.');
            if initialism {
                out.push(token(from, to, position, joined.replace('.', "")));
            }
            out.push(token(from, to, position, joined));
        }
        // In `config.waitsForConnectivity`, `waitsForConnectivity` is a whole word too.
        let segments = segments(whole, from);
        for (part_from, part_to) in parts {
            if segments.len() > 1
                && let Some(&(seg_from, seg_to)) = segments
                    .iter()
                    .find(|(f, t)| *f == part_from && *t > part_to)
            {
                out.push(token(
                    seg_from,
                    seg_to,
                    position,
                    text[seg_from..seg_to].to_lowercase(),
                ));
            }
            out.push(token(
                part_from,
                part_to,
                position,
                text[part_from..part_to].to_lowercase(),
            ));
            position += 1;
        }
    }
    out
}

/// The runs of word characters in a compound, as byte ranges of the original text.
fn segments(whole: &str, base: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    for (at, c) in whole.char_indices() {
        match (is_word(c), start) {
            (true, None) => start = Some(at),
            (false, Some(s)) => {
                out.push((base + s, base + at));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((base + s, base + whole.len()));
    }
    out
}

/// The parts of a compound word, as byte ranges of the original text: split at `_`, `.` and
/// `-`, then at case changes (`NWConnection` → `NW`, `Connection`; `kCBAdvData` → `k`, `CB`,
/// `Adv`, `Data`).
fn code_parts(whole: &str, base: usize) -> Vec<(usize, usize)> {
    let mut parts = Vec::new();
    let mut segment_start: Option<usize> = None;
    let chars: Vec<(usize, char)> = whole.char_indices().collect();
    for (k, &(at, c)) in chars.iter().enumerate() {
        if !is_word(c) {
            if let Some(s) = segment_start.take() {
                parts.push((base + s, base + at));
            }
            continue;
        }
        match segment_start {
            None => segment_start = Some(at),
            Some(s) => {
                let prev = chars[k - 1].1;
                let next = chars.get(k + 1).map(|(_, n)| *n);
                let lower_to_upper = prev.is_lowercase() && c.is_uppercase();
                let acronym_end = prev.is_uppercase()
                    && c.is_uppercase()
                    && next.is_some_and(|n| n.is_lowercase());
                if lower_to_upper || acronym_end {
                    parts.push((base + s, base + at));
                    segment_start = Some(at);
                }
            }
        }
    }
    if let Some(s) = segment_start {
        parts.push((base + s, base + whole.len()));
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(text: &str) -> Vec<String> {
        tokens(&mut text_analyzer(), text)
            .into_iter()
            .map(|t| t.text)
            .collect()
    }

    #[test]
    fn english_words_are_lowercased_folded_and_stemmed() {
        assert_eq!(texts("Connections failing"), ["connect", "fail"]);
        assert_eq!(texts("Café naïve"), ["cafe", "naiv"]);
        assert_eq!(
            texts("uploads uploaded uploading"),
            ["upload", "upload", "upload"]
        );
    }

    #[test]
    fn cjk_runs_become_overlapping_bigrams() {
        assert_eq!(texts("网络请求"), ["网络", "络请", "请求"]);
        assert_eq!(texts("東京タワー"), ["東京", "京タ", "タワ", "ワー"]);
        assert_eq!(texts("한국어"), ["한국", "국어"]);
        // A lone character stays a unigram.
        assert_eq!(texts("错 error"), ["错", "error"]);
    }

    #[test]
    fn punctuation_leaves_a_gap_after_a_cjk_run() {
        let positions: Vec<(String, usize)> = tokens(&mut text_analyzer(), "请求数据，据库")
            .into_iter()
            .map(|t| (t.text, t.position))
            .collect();
        assert_eq!(positions[2], ("数据".to_string(), 2));
        assert_eq!(positions[3], ("据库".to_string(), 4));
    }

    #[test]
    fn mixed_text_splits_by_script() {
        assert_eq!(
            texts("网络请求 No space left"),
            ["网络", "络请", "请求", "no", "space", "left"]
        );
        assert_eq!(texts("报错28次"), ["报错", "28", "次"]);
    }

    #[test]
    fn single_cjk_characters_for_the_second_field() {
        let chars: Vec<String> = tokens(&mut cjk1_analyzer(), "网络 error 请求")
            .into_iter()
            .map(|t| t.text)
            .collect();
        assert_eq!(chars, ["网", "络", "请", "求"]);
    }

    #[test]
    fn code_tokens_are_kept_whole_and_split_into_parts() {
        assert_eq!(texts("NWConnection"), ["nwconnect", "nw", "connect"]);
        assert_eq!(
            texts("kCBAdvDataServiceData"),
            [
                "kcbadvdataservicedata",
                "k",
                "cb",
                "adv",
                "data",
                "servic",
                "data"
            ]
        );
        assert_eq!(texts("snake_case"), ["snake_cas", "snake", "case"]);
        assert_eq!(texts("dotted.names"), ["dotted.nam", "dot", "name"]);
        assert_eq!(
            texts("config.waitsForConnectivity"),
            [
                "config.waitsforconnect",
                "config",
                "waitsforconnect",
                "wait",
                "for",
                "connect"
            ]
        );
        assert_eq!(texts("code -1009"), ["code", "-1009", "1009"]);
        assert_eq!(
            texts("NSPOSIXErrorDomain"),
            ["nsposixerrordomain", "nsposix", "error", "domain"]
        );
        // A trailing full stop is punctuation, not a separator.
        assert_eq!(texts("the end."), ["the", "end"]);
        // A hyphen between words is not a minus sign; a hyphenated word is also joined.
        assert_eq!(texts("wi-fi 10-20"), ["wifi", "wi", "fi", "10", "20"]);
        assert_eq!(texts("e-mail"), ["email", "e", "mail"]);
        assert_eq!(texts("B.C. dates"), ["bc", "b.c", "b", "c", "date"]);
    }

    #[test]
    fn parts_take_consecutive_positions_after_the_whole() {
        let tokens = tokens(&mut text_analyzer(), "use NWConnection now");
        let positions: Vec<(String, usize)> =
            tokens.into_iter().map(|t| (t.text, t.position)).collect();
        assert_eq!(
            positions,
            [
                ("use".to_string(), 0),
                ("nwconnect".to_string(), 1),
                ("nw".to_string(), 1),
                ("connect".to_string(), 2),
                ("now".to_string(), 3)
            ]
        );
    }

    #[test]
    fn offsets_point_at_the_original_text() {
        let text = "Ünïcode 网络 NWConnection";
        for t in tokens(&mut text_analyzer(), text) {
            assert!(text.is_char_boundary(t.offset_from) && text.is_char_boundary(t.offset_to));
            assert!(t.offset_from < t.offset_to);
        }
    }
}
