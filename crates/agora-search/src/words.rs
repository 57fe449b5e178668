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

/// Abbreviations a developer forum uses and what they stand for (lowercase). Reviewed: each
/// expansion is the one meant in Apple-platform and general networking talk.
const ABBREVIATIONS: &[(&str, &str)] = &[
    ("ble", "bluetooth low energy"),
    ("tls", "transport layer security"),
    ("ssl", "secure sockets layer"),
    ("vpn", "virtual private network"),
    ("ats", "app transport security"),
    ("mdm", "mobile device management"),
    ("dns", "domain name system"),
    ("api", "application programming interface"),
    ("sdk", "software development kit"),
    ("ui", "user interface"),
    ("ci", "continuous integration"),
    ("pac", "proxy auto config"),
    ("mtu", "maximum transmission unit"),
    ("nat", "network address translation"),
    ("ipc", "inter process communication"),
    ("uuid", "universally unique identifier"),
    ("ca", "certificate authority"),
    ("mitm", "man in the middle"),
    ("cdn", "content delivery network"),
    ("ttl", "time to live"),
    ("http", "hypertext transfer protocol"),
    ("url", "uniform resource locator"),
    ("os", "operating system"),
    ("ide", "integrated development environment"),
    ("faq", "frequently asked questions"),
    ("se", "stack exchange"),
    ("so", "stack overflow"),
    ("cw", "community wiki"),
    ("rep", "reputation"),
    ("q&a", "questions and answers"),
];

/// British spellings and their American forms (lowercase), both directions searched.
const SPELLINGS: &[(&str, &str)] = &[
    ("behaviour", "behavior"),
    ("behaviours", "behaviors"),
    ("colour", "color"),
    ("colours", "colors"),
    ("favour", "favor"),
    ("favourite", "favorite"),
    ("favourites", "favorites"),
    ("honour", "honor"),
    ("honours", "honors"),
    ("neighbour", "neighbor"),
    ("flavour", "flavor"),
    ("labour", "labor"),
    ("licence", "license"),
    ("licences", "licenses"),
    ("defence", "defense"),
    ("centre", "center"),
    ("centres", "centers"),
    ("catalogue", "catalog"),
    ("dialogue", "dialog"),
    ("dialogues", "dialogs"),
    ("analyse", "analyze"),
    ("analysed", "analyzed"),
    ("analysing", "analyzing"),
    ("cancelled", "canceled"),
    ("cancelling", "canceling"),
    ("labelled", "labeled"),
    ("labelling", "labeling"),
    ("modelling", "modeling"),
    ("modelled", "modeled"),
    ("travelling", "traveling"),
    ("signalling", "signaling"),
    ("grey", "gray"),
    ("judgement", "judgment"),
    ("programme", "program"),
    ("artefact", "artifact"),
    ("artefacts", "artifacts"),
    ("sceptical", "skeptical"),
    ("enrol", "enroll"),
    ("fulfil", "fulfill"),
    ("misspelt", "misspelled"),
    ("spelt", "spelled"),
    ("learnt", "learned"),
    ("whilst", "while"),
    ("aluminium", "aluminum"),
    ("offence", "offense"),
];

/// Stems spelt -is- in British English and -iz- in American (`optimise`, `optimisation`).
const IZE_STEMS: &[&str] = &[
    "optimi",
    "initiali",
    "seriali",
    "deseriali",
    "synchroni",
    "organi",
    "recogni",
    "authori",
    "customi",
    "normali",
    "utili",
    "minimi",
    "maximi",
    "prioriti",
    "visuali",
    "reali",
    "speciali",
    "finali",
    "categori",
    "characteri",
    "parametri",
    "tokeni",
    "saniti",
    "summari",
    "standardi",
    "virtuali",
    "locali",
    "internationali",
    "memori",
    "randomi",
    "moderni",
    "apologi",
    "criti",
    "emphasi",
    "capitali",
    "symboli",
];

/// Abbreviations a text defines: "Transport Layer Security (TLS)" or "TLS (Transport Layer
/// Security)", where the words' initials spell the abbreviation (2–6 capital letters).
/// Returns (abbreviation, expansion), both lowercase.
pub fn abbreviations_in(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let initials = |words: &[&str]| -> String {
        words
            .iter()
            .filter_map(|w| w.chars().next())
            .flat_map(char::to_lowercase)
            .collect()
    };
    let is_abbreviation =
        |s: &str| (2..=6).contains(&s.chars().count()) && s.chars().all(|c| c.is_ascii_uppercase());
    let words_of = |s: &str| -> Vec<String> {
        s.split(|c: char| !c.is_alphanumeric() && c != '-')
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect()
    };
    let mut rest = text;
    while let Some(open) = rest.find('(') {
        let Some(close) = rest[open..].find(')').map(|c| open + c) else {
            break;
        };
        let inside = rest[open + 1..close].trim();
        let before = &rest[..open];
        if is_abbreviation(inside) {
            // "Words Of The Form (WOTF)": the last words before the parenthesis.
            let words = words_of(before);
            let n = inside.chars().count();
            if words.len() >= n {
                let tail: Vec<&str> = words[words.len() - n..]
                    .iter()
                    .map(String::as_str)
                    .collect();
                if initials(&tail) == inside.to_lowercase() {
                    out.push((inside.to_lowercase(), tail.join(" ").to_lowercase()));
                }
            }
        } else if let Some(last) = words_of(before).last()
            && is_abbreviation(last)
        {
            // "WOTF (Words Of The Form)".
            let inner = words_of(inside);
            let inner: Vec<&str> = inner.iter().map(String::as_str).collect();
            if inner.len() == last.chars().count() && initials(&inner) == last.to_lowercase() {
                out.push((last.to_lowercase(), inner.join(" ").to_lowercase()));
            }
        }
        rest = &rest[close + 1..];
    }
    out
}

/// Words written joined or as two (`setup` / `set up`): the joined form finds the split one
/// through this list (two typed words find the joined form whenever the index holds it).
const COMPOUNDS: &[(&str, &str)] = &[
    ("setup", "set up"),
    ("login", "log in"),
    ("logout", "log out"),
    ("signin", "sign in"),
    ("signup", "sign up"),
    ("backup", "back up"),
    ("startup", "start up"),
    ("shutdown", "shut down"),
    ("checkout", "check out"),
    ("lookup", "look up"),
    ("workaround", "work around"),
    ("timeout", "time out"),
    ("plugin", "plug in"),
    ("popup", "pop up"),
    ("dropdown", "drop down"),
    ("cleanup", "clean up"),
    ("rollback", "roll back"),
    ("standalone", "stand alone"),
    ("builtin", "built in"),
    ("username", "user name"),
    ("filename", "file name"),
    ("hostname", "host name"),
    ("codebase", "code base"),
    ("dataset", "data set"),
    ("keychain", "key chain"),
    ("checkbox", "check box"),
    ("lockscreen", "lock screen"),
    ("homescreen", "home screen"),
    ("screenshot", "screen shot"),
    ("walkthrough", "walk through"),
    ("teardown", "tear down"),
    ("handoff", "hand off"),
    ("pushback", "push back"),
    ("playback", "play back"),
    ("wildcard", "wild card"),
    ("whitelist", "white list"),
    ("blacklist", "black list"),
];

/// Other spellings of a typed word (lowercase): its abbreviation's expansion, its British or
/// American form, and a compound's two words.
pub fn variants_of(word: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (joined, split) in COMPOUNDS {
        if word == *joined {
            out.push((*split).to_string());
        }
    }
    for (short, long) in ABBREVIATIONS {
        if word == *short {
            out.push((*long).to_string());
        }
    }
    for (british, american) in SPELLINGS {
        if word == *british {
            out.push((*american).to_string());
        } else if word == *american {
            out.push((*british).to_string());
        }
    }
    for stem in IZE_STEMS {
        if let Some(rest) = word.strip_prefix(stem) {
            if let Some(tail) = rest.strip_prefix('s') {
                out.push(format!("{stem}z{tail}"));
            } else if let Some(tail) = rest.strip_prefix('z') {
                out.push(format!("{stem}s{tail}"));
            }
        }
    }
    out
}

/// Abbreviations whose expansion is written out in `typed` (lowercase words, space-separated):
/// (abbreviation, expansion).
pub fn expansions_in(typed: &str) -> Vec<(&'static str, &'static str)> {
    let padded = format!(" {typed} ");
    ABBREVIATIONS
        .iter()
        .filter(|(_, long)| padded.contains(&format!(" {long} ")))
        .map(|(short, long)| (*short, *long))
        .collect()
}

/// Chinese and Japanese technical terms and their English words, for finding an English
/// thread from a question asked in Chinese or Japanese. Reviewed by hand; a term is here only
/// when its English is what English threads say.
const GLOSSARY: &[(&str, &str)] = &[
    ("网络", "network"),
    ("網絡", "network"),
    ("网路", "network"),
    ("ネットワーク", "network"),
    ("连接", "connection"),
    ("連接", "connection"),
    ("接続", "connection"),
    ("后台", "background"),
    ("後台", "background"),
    ("バックグラウンド", "background"),
    ("证书", "certificate"),
    ("證書", "certificate"),
    ("証明書", "certificate"),
    ("蓝牙", "bluetooth"),
    ("藍牙", "bluetooth"),
    ("ブルートゥース", "bluetooth"),
    ("扫描", "scan"),
    ("スキャン", "scan"),
    ("超时", "timeout"),
    ("超時", "timeout"),
    ("タイムアウト", "timeout"),
    ("请求", "request"),
    ("請求", "request"),
    ("リクエスト", "request"),
    ("服务器", "server"),
    ("伺服器", "server"),
    ("サーバー", "server"),
    ("代理", "proxy"),
    ("プロキシ", "proxy"),
    ("设备", "device"),
    ("設備", "device"),
    ("デバイス", "device"),
    ("测试", "test"),
    ("測試", "test"),
    ("テスト", "test"),
    ("单元测试", "unit test"),
    ("单元", "unit"),
    ("编译", "build"),
    ("コンパイル", "compile"),
    ("ビルド", "build"),
    ("迁移", "migration"),
    ("遷移", "migration"),
    ("マイグレーション", "migration"),
    ("数据库", "database"),
    ("資料庫", "database"),
    ("データベース", "database"),
    ("同步", "sync"),
    ("同期", "sync"),
    ("推送", "push"),
    ("通知", "notification"),
    ("プッシュ", "push"),
    ("下载", "download"),
    ("下載", "download"),
    ("ダウンロード", "download"),
    ("上传", "upload"),
    ("上傳", "upload"),
    ("アップロード", "upload"),
    ("崩溃", "crash"),
    ("クラッシュ", "crash"),
    ("内存", "memory"),
    ("記憶體", "memory"),
    ("メモリ", "memory"),
    ("磁盘", "disk"),
    ("存储", "storage"),
    ("ストレージ", "storage"),
    ("空间", "space"),
    ("加密", "encryption"),
    ("暗号化", "encryption"),
    ("密钥", "key"),
    ("钥匙串", "keychain"),
    ("键盘", "keyboard"),
    ("屏幕", "screen"),
    ("锁屏", "lock screen"),
    ("流量", "traffic"),
    ("隧道", "tunnel"),
    ("トンネル", "tunnel"),
    ("防火墙", "firewall"),
    ("局域网", "local network"),
    ("ローカルネットワーク", "local network"),
    ("权限", "permission"),
    ("権限", "permission"),
    ("弹窗", "prompt"),
    ("提示", "prompt"),
    ("发现", "discover"),
    ("発見", "discover"),
    ("检测", "detect"),
    ("检查", "check"),
    ("可达性", "reachability"),
    ("模拟器", "simulator"),
    ("シミュレータ", "simulator"),
    ("真机", "device"),
    ("签名", "signing"),
    ("署名", "signing"),
    ("证书链", "certificate chain"),
    ("信任", "trust"),
    ("失败", "fails"),
    ("失敗", "fails"),
    ("错误", "error"),
    ("錯誤", "error"),
    ("エラー", "error"),
    ("报错", "error"),
    ("静态库", "static library"),
    ("静的ライブラリ", "static library"),
    ("库", "library"),
    ("框架", "framework"),
    ("フレームワーク", "framework"),
    ("模块", "modules"),
    ("モジュール", "modules"),
    ("视频", "video"),
    ("動画", "video"),
    ("投屏", "airplay"),
    ("图片", "image"),
    ("画像", "image"),
    ("聊天", "chat"),
    ("チャット", "chat"),
    ("删除", "delete"),
    ("削除", "delete"),
    ("标签", "tag"),
    ("タグ", "tag"),
    ("搜索", "search"),
    ("検索", "search"),
    ("问题", "question"),
    ("質問", "question"),
    ("回答", "answer"),
    ("答案", "answer"),
    ("评论", "comment"),
    ("コメント", "comment"),
    ("投票", "vote"),
    ("声望", "reputation"),
    ("悬赏", "bounty"),
    ("懸賞", "bounty"),
    ("重复", "duplicate"),
    ("重複", "duplicate"),
    ("关闭", "close"),
    ("编辑", "edit"),
    ("編集", "edit"),
    ("版主", "moderator"),
    ("モデレーター", "moderator"),
    ("审核", "review"),
    ("レビュー", "review"),
    ("来源", "source"),
    ("出典", "source"),
    ("引用", "citation"),
    ("历史", "history"),
    ("歴史", "history"),
    ("轮询", "polling"),
    ("ポーリング", "polling"),
    ("套接字", "socket"),
    ("ソケット", "socket"),
    ("线程", "thread"),
    ("スレッド", "thread"),
    ("异步", "async"),
    ("非同期", "async"),
    ("任务", "task"),
    ("タスク", "task"),
    ("配置", "configuration"),
    ("設定", "settings"),
    ("设置", "settings"),
];

/// The glossary's entries whose Chinese or Japanese term is in `text`.
pub fn glossary_in(text: &str) -> Vec<(&'static str, &'static str)> {
    GLOSSARY
        .iter()
        .filter(|(native, _)| text.contains(native))
        .map(|(native, english)| (*native, *english))
        .collect()
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
    fn abbreviations_are_learnt_from_their_definitions() {
        assert_eq!(
            abbreviations_in(
                "We use Transport Layer Security (TLS) and MDM (Mobile Device Management)."
            ),
            [
                ("tls".to_string(), "transport layer security".to_string()),
                ("mdm".to_string(), "mobile device management".to_string())
            ]
        );
        // Initials that do not spell it, or a word in parentheses: nothing.
        assert!(abbreviations_in("the best thing (BTX) ever (see below)").is_empty());
    }

    #[test]
    fn spelling_variants_go_both_ways() {
        assert!(variants_of("optimise").contains(&"optimize".to_string()));
        assert!(variants_of("optimization").contains(&"optimisation".to_string()));
        assert!(variants_of("behaviour").contains(&"behavior".to_string()));
        assert!(variants_of("color").contains(&"colour".to_string()));
        assert!(variants_of("ble").contains(&"bluetooth low energy".to_string()));
        assert!(variants_of("exercise").is_empty());
        assert!(variants_of("setup").contains(&"set up".to_string()));
        assert!(variants_of("promise").is_empty());
        assert_eq!(
            expansions_in("scan bluetooth low energy devices"),
            [("ble", "bluetooth low energy")]
        );
    }

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
        assert_eq!(
            glossary_in("蓝牙扫描"),
            [("蓝牙", "bluetooth"), ("扫描", "scan")]
        );
        assert_eq!(strip_cjk_stopwords("会话地址"), "会话地址");
        assert_eq!(strip_cjk_stopwords("見つからない").trim(), "見つからない");
    }
}
