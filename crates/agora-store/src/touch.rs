//! What a write touched, and the generations that let caches drop only those pages.
//!
//! Every write that appends to the change log names the parts of the forum it changed
//! ([`Scope`]s, derived from the entry's kind and ids in `queries::append_change`). After the
//! transaction commits, the store bumps the generation of each (here on this node; on
//! PostgreSQL a notification sent after the commit carries the same list to every other node). A cached
//! page remembers the generations of the scopes it was rendered from and is fresh while none
//! of them moved. Scopes are hashed into a fixed table of counters: two scopes sharing a slot
//! only ever cost an extra re-render, never a stale page.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::model::{SubtopicId, TagId, ThreadId, UserId};

/// A part of the forum that pages are rendered from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Everything a page can show: site settings, the taxonomy, a member's name or role
    /// (shown beside their posts everywhere). Every page depends on it.
    Everything,
    /// One thread's pages (its posts, counts, lock and answer).
    Thread(ThreadId),
    /// One subtopic's listing and feeds.
    Subtopic(SubtopicId),
    /// One tag's listing and feeds.
    Tag(TagId),
    /// The forum-wide pages: the home page, areas, the latest threads, the forum's feeds and
    /// the tag index.
    Front,
    /// One member's public profile.
    User(UserId),
    /// The member directory.
    Members,
    /// Which threads exist: a thread removed (or restored) by its opening post. The related
    /// threads beside every thread page depend on it, so a removed thread leaves them at once.
    Removals,
}

impl Scope {
    /// The compact text form carried by PostgreSQL notifications ("t12", "s3", "*").
    fn write(&self, out: &mut String) {
        let _ = match self {
            Scope::Everything => write!(out, "*"),
            Scope::Thread(id) => write!(out, "t{}", id.0),
            Scope::Subtopic(id) => write!(out, "s{}", id.0),
            Scope::Tag(id) => write!(out, "g{}", id.0),
            Scope::Front => write!(out, "f"),
            Scope::User(id) => write!(out, "u{}", id.0),
            Scope::Members => write!(out, "m"),
            Scope::Removals => write!(out, "r"),
        };
    }

    fn parse(text: &str) -> Option<Scope> {
        let (head, rest) = text.split_at_checked(1)?;
        let id = || rest.parse::<i64>().ok();
        Some(match head {
            "*" if rest.is_empty() => Scope::Everything,
            "f" if rest.is_empty() => Scope::Front,
            "m" if rest.is_empty() => Scope::Members,
            "r" if rest.is_empty() => Scope::Removals,
            "t" => Scope::Thread(ThreadId(id()?)),
            "s" => Scope::Subtopic(SubtopicId(id()?)),
            "g" => Scope::Tag(TagId(id()?)),
            "u" => Scope::User(UserId(id()?)),
            _ => return None,
        })
    }

    fn slot(&self) -> usize {
        let (kind, id): (u64, i64) = match self {
            Scope::Everything => (0, 0),
            Scope::Thread(id) => (1, id.0),
            Scope::Subtopic(id) => (2, id.0),
            Scope::Tag(id) => (3, id.0),
            Scope::Front => (4, 0),
            Scope::User(id) => (5, id.0),
            Scope::Members => (6, 0),
            Scope::Removals => (7, 0),
        };
        // A multiplicative hash spreads consecutive ids over the table.
        let mixed = (id as u64 ^ (kind << 56)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (mixed >> (64 - SLOT_BITS)) as usize
    }
}

/// The scopes one write touched, in the order named (duplicates allowed; applying them twice
/// changes nothing a reader can see).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Touched(Vec<Scope>);

impl Touched {
    pub fn push(&mut self, scope: Scope) {
        if !self.0.contains(&scope) {
            self.0.push(scope);
        }
    }

    pub fn extend(&mut self, scopes: impl IntoIterator<Item = Scope>) {
        for scope in scopes {
            self.push(scope);
        }
    }

    pub fn scopes(&self) -> &[Scope] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The text a PostgreSQL notification carries: scopes separated by spaces, or
    /// [`NOTHING`] for writes that touched nothing a page shows (they still move the log).
    pub fn encode(&self) -> String {
        self.notes(usize::MAX).concat()
    }

    /// [`Touched::encode`] cut at scope boundaries into texts of at most `max` bytes (a
    /// PostgreSQL notification carries less than 8,000), each a notification of its own.
    pub fn notes(&self, max: usize) -> Vec<String> {
        if self.0.is_empty() {
            return vec![NOTHING.to_string()];
        }
        let mut notes = Vec::new();
        let mut out = String::with_capacity(self.0.len().min(1_000) * 6);
        let mut scope_text = String::new();
        for scope in &self.0 {
            scope_text.clear();
            scope.write(&mut scope_text);
            if !out.is_empty() && out.len() + 1 + scope_text.len() > max {
                notes.push(std::mem::take(&mut out));
            }
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&scope_text);
        }
        notes.push(out);
        notes
    }

    /// Reads a notification's text. Anything this build cannot read (an empty payload from an
    /// older node, a scope it does not know) is taken as everything: a follower may drop too
    /// much, never too little.
    pub fn decode(text: &str) -> Touched {
        let mut touched = Touched::default();
        if text == NOTHING {
            return touched;
        }
        for part in text.split_ascii_whitespace() {
            match Scope::parse(part) {
                Some(scope) => touched.push(scope),
                None => return Touched(vec![Scope::Everything]),
            }
        }
        if touched.is_empty() {
            touched.push(Scope::Everything);
        }
        touched
    }
}

/// A notification's text for a write that touched nothing a page shows.
const NOTHING: &str = "~";

const SLOT_BITS: u32 = 12;
const SLOTS: usize = 1 << SLOT_BITS;

/// The generation of every scope (hashed into a fixed table), shared by the store, which bumps
/// them after each commit it makes or hears of, and the caches, which compare against them.
pub struct Generations {
    everything: AtomicU64,
    /// Bumped by every write that touched anything: what a page that cannot say what it shows
    /// depends on.
    anything: AtomicU64,
    slots: Box<[AtomicU64]>,
}

/// The generations a page was rendered under: `Everything`'s and one per scope it depends on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stamp {
    everything: u64,
    anything: Option<u64>,
    slots: Vec<(u16, u64)>,
}

impl Default for Generations {
    fn default() -> Self {
        Self {
            everything: AtomicU64::new(0),
            anything: AtomicU64::new(0),
            slots: (0..SLOTS).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

impl Generations {
    /// Marks every scope `touched` names as changed.
    pub fn bump(&self, touched: &Touched) {
        if touched.is_empty() {
            return;
        }
        self.anything.fetch_add(1, Ordering::AcqRel);
        for scope in touched.scopes() {
            match scope {
                Scope::Everything => self.bump_everything(),
                other => {
                    self.slots[other.slot()].fetch_add(1, Ordering::AcqRel);
                }
            }
        }
    }

    /// Marks everything changed (settings, a reconnect that may have missed notifications).
    pub fn bump_everything(&self) {
        self.everything.fetch_add(1, Ordering::AcqRel);
        self.anything.fetch_add(1, Ordering::AcqRel);
    }

    /// A stamp depending on `Everything` only; add scopes with [`Generations::depend`]. Take
    /// it before reading what the page shows, so a write during the render leaves it stale.
    pub fn stamp(&self) -> Stamp {
        Stamp {
            everything: self.everything.load(Ordering::Acquire),
            anything: None,
            slots: Vec::new(),
        }
    }

    /// A stamp for a page that depends on every write that touched anything (what a page that
    /// names no scopes gets: correct, and dropped more often than it needs to be).
    pub fn stamp_anything(&self) -> Stamp {
        Stamp {
            anything: Some(self.anything.load(Ordering::Acquire)),
            ..self.stamp()
        }
    }

    /// Adds `scope`'s current generation to `stamp`. A stamp that names scopes depends on
    /// those (and `Everything`) only, no longer on any write.
    pub fn depend(&self, stamp: &mut Stamp, scope: Scope) {
        stamp.anything = None;
        if scope == Scope::Everything {
            return;
        }
        let slot = scope.slot();
        if stamp.slots.iter().any(|(s, _)| usize::from(*s) == slot) {
            return;
        }
        let generation = self.slots[slot].load(Ordering::Acquire);
        // SLOTS fits in u16.
        stamp.slots.push((slot as u16, generation));
    }

    /// True while nothing `stamp` depends on has changed.
    pub fn fresh(&self, stamp: &Stamp) -> bool {
        self.everything.load(Ordering::Acquire) == stamp.everything
            && stamp
                .anything
                .is_none_or(|generation| self.anything.load(Ordering::Acquire) == generation)
            && stamp.slots.iter().all(|(slot, generation)| {
                self.slots[usize::from(*slot)].load(Ordering::Acquire) == *generation
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn touched_scopes_round_trip_through_text() {
        let mut touched = Touched::default();
        touched.extend([
            Scope::Thread(ThreadId(12)),
            Scope::Subtopic(SubtopicId(3)),
            Scope::Tag(TagId(40)),
            Scope::Front,
            Scope::User(UserId(7)),
            Scope::Members,
            Scope::Removals,
            Scope::Everything,
            Scope::Front,
        ]);
        assert_eq!(touched.scopes().len(), 8, "duplicates are kept once");
        assert_eq!(touched.encode(), "t12 s3 g40 f u7 m r *");
        assert_eq!(Touched::decode(&touched.encode()), touched);
        // Cut into notifications at scope boundaries, each read on its own.
        let notes = touched.notes(8);
        assert_eq!(notes, ["t12 s3", "g40 f u7", "m r *"]);
        let mut read = Touched::default();
        for note in &notes {
            read.extend(Touched::decode(note).scopes().iter().copied());
        }
        assert_eq!(read, touched);
        // A write that touched nothing says so (an empty text from an older node means
        // everything).
        assert_eq!(Touched::default().encode(), "~");
        assert!(Touched::decode("~").is_empty());
        assert_eq!(Touched::decode("").scopes(), [Scope::Everything]);
    }

    #[test]
    fn unreadable_notifications_mean_everything() {
        for text in ["", "  ", "t12 x9", "tt", "t"] {
            assert_eq!(
                Touched::decode(text).scopes(),
                &[Scope::Everything],
                "{text:?}"
            );
        }
    }

    #[test]
    fn a_page_goes_stale_only_when_what_it_shows_changes() {
        let generations = Generations::default();
        let mut thread_page = generations.stamp();
        generations.depend(&mut thread_page, Scope::Thread(ThreadId(1)));
        let mut other_page = generations.stamp();
        generations.depend(&mut other_page, Scope::Thread(ThreadId(2)));

        let mut reply = Touched::default();
        reply.push(Scope::Thread(ThreadId(1)));
        generations.bump(&reply);
        assert!(!generations.fresh(&thread_page));
        assert!(generations.fresh(&other_page));

        let undeclared = generations.stamp_anything();
        generations.bump(&Touched::default());
        assert!(
            generations.fresh(&undeclared),
            "a write that touched nothing"
        );
        generations.bump(&reply);
        assert!(!generations.fresh(&undeclared));

        generations.bump(&Touched::decode("*"));
        assert!(
            !generations.fresh(&other_page),
            "everything reaches every page"
        );
    }
}
