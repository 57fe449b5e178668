//! How numbers and times read on a page: "4.3k" views, activity "3h", "1w" or "Mar ’26".

use agora_store::Timestamp;
use chrono::{Datelike, Utc};

/// Compact counts as the listing shows them: 999, 1.2k, 12k, 1.1M. Rounded down, so a
/// count is never shown larger than it is.
pub fn compact_count(n: i64) -> String {
    let n = n.max(0);
    match n {
        0..=999 => n.to_string(),
        1_000..=9_999 => with_tenths(n, 1_000, "k"),
        10_000..=999_999 => format!("{}k", n / 1_000),
        1_000_000..=9_999_999 => with_tenths(n, 1_000_000, "M"),
        _ => format!("{}M", n / 1_000_000),
    }
}

/// A count with its noun, the noun agreeing with the number: "0 replies", "1 reply",
/// "2 replies", "1.2k replies". `label` is the number as shown (compact or exact).
pub fn counted(n: i64, label: &str, one: &str, many: &str) -> String {
    format!("{label} {}", if n == 1 { one } else { many })
}

/// [`counted`] with the compact number: the one way a page writes "N things".
pub fn plural(n: i64, one: &str, many: &str) -> String {
    counted(n, &compact_count(n), one, many)
}

fn with_tenths(n: i64, unit: i64, suffix: &str) -> String {
    let tenths = n * 10 / unit;
    if tenths % 10 == 0 {
        format!("{}{suffix}", tenths / 10)
    } else {
        format!("{}.{}{suffix}", tenths / 10, tenths % 10)
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Activity relative to `now`: now, 5m, 3h, 4d, 1w, 3w; past four weeks the month, "Mar ’26".
pub fn relative_time(at: Timestamp, now: Timestamp) -> String {
    let seconds = (now.micros() - at.micros()).max(0) / 1_000_000;
    let minutes = seconds / 60;
    let hours = minutes / 60;
    let days = hours / 24;
    match () {
        _ if minutes < 1 => "now".to_string(),
        _ if hours < 1 => format!("{minutes}m"),
        _ if days < 1 => format!("{hours}h"),
        _ if days < 7 => format!("{days}d"),
        _ if days < 29 => format!("{}w", days / 7),
        _ => month_year(at),
    }
}

/// A post's age in words, as a thread page shows it: "just now", "5 minutes ago", "3 hours
/// ago", "4 days ago", "2 weeks ago"; past four weeks the date, "14 Mar 2026". The page's
/// script says it again in the reader's language and time zone; this is what it starts from
/// (and what readers without scripts see, beside the exact UTC time in the title).
pub fn ago(at: Timestamp, now: Timestamp) -> String {
    let seconds = (now.micros() - at.micros()).max(0) / 1_000_000;
    let minutes = seconds / 60;
    let hours = minutes / 60;
    let days = hours / 24;
    let plural = |n: i64, unit: &str| {
        if n == 1 {
            format!("1 {unit} ago")
        } else {
            format!("{n} {unit}s ago")
        }
    };
    match () {
        _ if minutes < 1 => "just now".to_string(),
        _ if hours < 1 => plural(minutes, "minute"),
        _ if days < 1 => plural(hours, "hour"),
        _ if days < 7 => plural(days, "day"),
        _ if days < 29 => plural(days / 7, "week"),
        _ => {
            let date = at.to_datetime();
            format!(
                "{} {} {}",
                date.day(),
                MONTHS[date.month0() as usize],
                date.year()
            )
        }
    }
}

/// "Mar ’26".
pub fn month_year(at: Timestamp) -> String {
    let date = at.to_datetime();
    let month = MONTHS[date.month0() as usize];
    format!("{month} ’{:02}", date.year() % 100)
}

/// The exact time, for a `title` tooltip and for readers who want it: "2026-03-14 09:26 UTC".
pub fn exact_time(at: Timestamp) -> String {
    // Written out rather than through strftime, which parses its pattern on every call
    // (a listing formats sixty of these).
    use chrono::Timelike;
    let t = at.to_datetime();
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// The value of an HTML `datetime` attribute: "2026-03-14T09:26:53.589Z". HTML allows at most
/// three fractional digits, so the API's microseconds are cut to milliseconds (rounded down,
/// so a time is never shown later than it was).
pub fn html_datetime(at: Timestamp) -> String {
    at.to_datetime()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A date for profiles: "14 March 2026".
pub fn long_date(at: Timestamp) -> String {
    at.to_datetime().format("%-d %B %Y").to_string()
}

/// The language of a text when it is plainly Chinese, Japanese or Korean, for a `lang`
/// attribute (so browsers pick the right fonts and line breaking, and screen readers the
/// right voice); `None` leaves the page's own language.
pub fn cjk_lang(text: &str) -> Option<&'static str> {
    // CJK characters are three-byte UTF-8 sequences led by 0xE3..=0xED; most text has none,
    // and is answered without decoding a character.
    if !text.bytes().any(|b| (0xE3..=0xED).contains(&b)) {
        return None;
    }
    let (mut han, mut kana, mut hangul, mut letters) = (0usize, 0usize, 0usize, 0usize);
    for ch in text.chars().filter(|c| c.is_alphabetic()) {
        letters += 1;
        match ch as u32 {
            0x3040..=0x30FF | 0x31F0..=0x31FF => kana += 1,
            0xAC00..=0xD7AF | 0x1100..=0x11FF => hangul += 1,
            0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0xF900..=0xFAFF => han += 1,
            _ => {}
        }
    }
    let cjk = han + kana + hangul;
    if letters == 0 || cjk * 5 < letters {
        return None;
    }
    Some(if kana > 0 {
        "ja"
    } else if hangul > han {
        "ko"
    } else {
        "zh"
    })
}

/// The current time, in one place so pages rendered together agree.
pub fn now() -> Timestamp {
    Timestamp::from(Utc::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_like_the_seed() {
        let cases = [
            (0, "0"),
            (7, "7"),
            (999, "999"),
            (1_000, "1k"),
            (1_250, "1.2k"),
            (4_300, "4.3k"),
            (9_999, "9.9k"),
            (12_345, "12k"),
            (999_999, "999k"),
            (1_100_000, "1.1M"),
            (12_000_000, "12M"),
            (-5, "0"),
        ];
        let got: Vec<(i64, String)> = cases.iter().map(|(n, _)| (*n, compact_count(*n))).collect();
        let want: Vec<(i64, String)> = cases.iter().map(|(n, s)| (*n, s.to_string())).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn counts_agree_with_their_nouns() {
        let got: Vec<String> = [0, 1, 2, 999, 1_000, 1_250, 2_000_000]
            .into_iter()
            .map(|n| plural(n, "reply", "replies"))
            .collect();
        assert_eq!(
            got,
            [
                "0 replies",
                "1 reply",
                "2 replies",
                "999 replies",
                "1k replies",
                "1.2k replies",
                "2M replies"
            ]
        );
        assert_eq!(plural(1, "view", "views"), "1 view");
        assert_eq!(plural(1, "boost", "boosts"), "1 boost");
        assert_eq!(plural(1, "member", "members"), "1 member");
        assert_eq!(plural(3, "post", "posts"), "3 posts");
        assert_eq!(
            counted(1, "1", "accepted answer", "accepted answers"),
            "1 accepted answer"
        );
    }

    #[test]
    fn exact_times_are_utc_to_the_minute() {
        let at = Timestamp::parse_rfc3339("2026-03-04T05:06:07.123456Z")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(exact_time(at), "2026-03-04 05:06 UTC");
    }

    #[test]
    fn html_datetimes_have_milliseconds_at_most() {
        let at = Timestamp::parse_rfc3339("2026-03-04T05:06:07.123999Z")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(html_datetime(at), "2026-03-04T05:06:07.123Z");
        let whole =
            Timestamp::parse_rfc3339("2026-03-04T05:06:07Z").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(html_datetime(whole), "2026-03-04T05:06:07.000Z");
    }

    #[test]
    fn cjk_text_is_recognised() {
        assert_eq!(
            cjk_lang("轮询接口几个小时后报错“No space left on device”"),
            Some("zh")
        );
        assert_eq!(cjk_lang("ネットワーク接続がタイムアウトします"), Some("ja"));
        assert_eq!(cjk_lang("네트워크 연결 오류"), Some("ko"));
        assert_eq!(cjk_lang("NWConnection fails with 网络 once"), None);
        assert_eq!(cjk_lang(""), None);
    }

    #[test]
    fn ages_read_as_words() {
        let now =
            Timestamp::parse_rfc3339("2026-11-24T12:00:00Z").unwrap_or_else(|e| panic!("{e}"));
        let before = |secs: i64| ago(Timestamp::from_micros(now.micros() - secs * 1_000_000), now);
        assert_eq!(before(-5), "just now");
        assert_eq!(before(59), "just now");
        assert_eq!(before(60), "1 minute ago");
        assert_eq!(before(3 * 3600 + 5), "3 hours ago");
        assert_eq!(before(86_400), "1 day ago");
        assert_eq!(before(15 * 86_400), "2 weeks ago");
        assert_eq!(before(250 * 86_400), "19 Mar 2026");
    }

    #[test]
    fn activity_reads_like_the_seed() {
        let now =
            Timestamp::parse_rfc3339("2026-11-24T12:00:00Z").unwrap_or_else(|e| panic!("{e}"));
        let ago =
            |secs: i64| relative_time(Timestamp::from_micros(now.micros() - secs * 1_000_000), now);
        let table: Vec<(&str, String)> = vec![
            (
                "future",
                relative_time(Timestamp::from_micros(now.micros() + 5_000_000), now),
            ),
            ("30s", ago(30)),
            ("5m", ago(5 * 60)),
            ("59m", ago(59 * 60 + 59)),
            ("3h", ago(3 * 3600)),
            ("4d", ago(4 * 86_400)),
            ("1w", ago(7 * 86_400)),
            ("3w", ago(27 * 86_400)),
            ("30d", ago(30 * 86_400)),
            ("~8 months", ago(250 * 86_400)),
        ];
        let rendered: Vec<String> = table.iter().map(|(k, v)| format!("{k} => {v}")).collect();
        assert_eq!(
            rendered,
            vec![
                "future => now",
                "30s => now",
                "5m => 5m",
                "59m => 59m",
                "3h => 3h",
                "4d => 4d",
                "1w => 1w",
                "3w => 3w",
                "30d => Oct ’26",
                "~8 months => Mar ’26",
            ]
        );
    }
}
