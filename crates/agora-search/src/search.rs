//! Running a query: candidates from the index, re-ranked and grouped into threads, with
//! corrections for words that match nothing, and "more like this" for similar threads.
//!
//! Ranking happens in two steps. The index returns the best `CANDIDATES` posts by BM25 over
//! the text (block-WAND keeps this fast: a flat union or intersection of terms is never scored
//! in full). Those few are then re-ranked: a title that holds the query's words counts more,
//! an accepted or staff-recommended answer a little more, and recency breaks near-ties.
//! Then posts are grouped by thread, each thread keeping its best post for the snippet.

use std::collections::{HashMap, HashSet};
use std::ops::Bound;

use tantivy::collector::TopDocs;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, Occur, PhraseQuery, Query as TantivyQuery, RangeQuery,
    TermQuery,
};
use tantivy::schema::IndexRecordOption;
use tantivy::tokenizer::{TextAnalyzer, Token};
use tantivy::{DocAddress, DocSet, Order, Searcher, Term};

use crate::analyzer::{self, is_cjk};
use crate::index::{Fields, SearchError, SearchIndex};
use crate::query::{Query, Sort, Text};

/// The most posts read from the index for one page of results.
const MAX_CANDIDATES: usize = 1_000;
/// The most posts read when threads with many matching posts leave a page short.
const MAX_WIDENED_CANDIDATES: usize = 50_000;
/// The fewest posts read, however small the page.
const MIN_CANDIDATES: usize = 100;
/// How much a title holding every query word adds (as a fraction of the text score).
const TITLE_WEIGHT: f32 = 0.6;
/// How much a query word in a title counts in the ranked pass's BM25, against the text's.
const RANKED_TITLE_TERMS: f32 = 2.0;
/// How much a title holding the whole question adds in the ranked pass (on top of the above).
const RANKED_TITLE_WEIGHT: f32 = 1.0;
/// How much an accepted or a staff-recommended answer adds.
const ANSWER_WEIGHT: f32 = 0.08;
/// How much a post from today adds over a very old one.
const RECENCY_WEIGHT: f32 = 0.03;
/// Words at least this long that match nothing are looked for one edit away.
const FUZZY_MIN_CHARS: usize = 5;
const MICROS_PER_DAY: i64 = 86_400_000_000;
/// The least share of a query's weight a thread must hold to be shown when no thread holds
/// every word (more than one word of four, counting words the forum never uses).
const PARTIAL_FLOOR: f32 = 0.3;
/// The least share for a near miss shown beside threads that hold every word of a query of
/// three words or more: half its weight (a thread with a three-word query's two rarest words is the answer more
/// often than one more thread with all three common ones; the square of coverage in its score
/// keeps it below them unless it matches much better).
const NEAR_MISS_FLOOR: f32 = 0.5;
/// Ranked matches scoring under this share of the best are left out.
const WEAK_SHARE: f32 = 0.1;
/// How much a word found only in the title a reply carries counts, against its own text.
const CONTEXT_WEIGHT: f32 = 0.5;
/// A whole-thread document's BM25 against its best post's, in the ranked pass.
const WHOLE_WEIGHT: f32 = 1.0;

/// A built query and how many word clauses it has.
type Built = (Box<dyn TantivyQuery>, usize);

/// One thread in the results, with the post that matched best.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    pub thread_id: i64,
    pub post_id: i64,
    pub score: f32,
    /// The share of the query's weight (idf) the thread holds: 1 when it has every word.
    pub coverage: f32,
}

/// A word that matched nothing and what was searched instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Correction {
    pub typed: String,
    pub instead: String,
}

/// The outcome of a search.
#[derive(Clone, Debug, Default)]
pub struct Found {
    pub hits: Vec<Hit>,
    /// True when there are more threads after this page.
    pub more: bool,
    pub corrections: Vec<Correction>,
    /// The analysed terms to highlight in snippets.
    pub highlight: Highlight,
    /// No thread holds every word: these are the closest, ranked by how much of the query
    /// (its distinctive words most) each matches.
    pub partial: bool,
}

/// Terms a snippet highlights.
#[derive(Clone, Debug, Default)]
pub struct Highlight {
    pub(crate) text: HashSet<String>,
    pub(crate) cjk1: HashSet<String>,
}

impl Highlight {
    /// True when there is nothing to highlight.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty() && self.cjk1.is_empty()
    }
}

/// The analysers, built once.
struct Analysers {
    text: TextAnalyzer,
}

impl Analysers {
    fn new() -> Self {
        Analysers {
            text: analyzer::text_analyzer(),
        }
    }
}

/// The terms that stand for a typed word or phrase: (position, term) on the text field, or
/// single CJK characters.
enum Terms {
    Text(Vec<(usize, String)>),
    Cjk1(String),
    Nothing,
}

/// Analyses a piece of query text. Parts of a code token are left out when its whole form is
/// present: `NWConnection` searches for the whole, which documents also carry.
fn terms_of(a: &mut Analysers, text: &str) -> Terms {
    let trimmed = text.trim();
    let mut chars = trimmed.chars();
    if let (Some(c), None) = (chars.next(), chars.next())
        && is_cjk(c)
    {
        return Terms::Cjk1(c.to_string());
    }
    let tokens: Vec<Token> = analyzer::tokens(&mut a.text, trimmed);
    let mut kept: Vec<&Token> = Vec::new();
    for t in &tokens {
        let inside = kept.iter().any(|k| {
            k.offset_from <= t.offset_from
                && t.offset_to <= k.offset_to
                && (k.offset_to - k.offset_from) > (t.offset_to - t.offset_from)
        });
        if !inside {
            kept.push(t);
        }
    }
    if kept.is_empty() {
        return Terms::Nothing;
    }
    let first = kept[0].position;
    Terms::Text(
        kept.into_iter()
            .map(|t| (t.position - first, t.text.clone()))
            .collect(),
    )
}

fn term_query(term: Term) -> Box<dyn TantivyQuery> {
    Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs))
}

/// A term in a post's text; `relaxed`, also in the thread's title as carried by replies.
fn text_term(f: &Fields, term: &str, relaxed: bool) -> Box<dyn TantivyQuery> {
    let in_text = term_query(Term::from_field_text(f.text, term));
    if !relaxed {
        return in_text;
    }
    Box::new(BooleanQuery::new(vec![
        (Occur::Should, in_text),
        (
            Occur::Should,
            Box::new(BoostQuery::new(
                term_query(Term::from_field_text(f.context, term)),
                CONTEXT_WEIGHT,
            )),
        ),
    ]))
}

/// The query for one typed word or phrase, plus the analysed terms it highlights.
fn text_query(
    f: &Fields,
    a: &mut Analysers,
    text: &Text,
    highlight: &mut Highlight,
    relaxed: bool,
) -> Option<Box<dyn TantivyQuery>> {
    let (raw, phrase) = match text {
        Text::Word(w) => (w.as_str(), false),
        Text::Phrase(p) => (p.as_str(), true),
    };
    match terms_of(a, raw) {
        Terms::Nothing => None,
        Terms::Cjk1(c) => {
            highlight.cjk1.insert(c.clone());
            Some(term_query(Term::from_field_text(f.cjk1, &c)))
        }
        Terms::Text(terms) => {
            for (_, t) in &terms {
                highlight.text.insert(t.clone());
            }
            if terms.len() == 1 {
                return Some(text_term(f, &terms[0].1, relaxed));
            }
            if phrase {
                return Some(Box::new(PhraseQuery::new_with_offset(
                    terms
                        .into_iter()
                        .map(|(p, t)| (p, Term::from_field_text(f.text, &t)))
                        .collect(),
                )));
            }
            // A CJK run's bigrams must stay together, in order: 数据库 is not 数据 … 据库.
            if terms.iter().all(|(_, t)| t.chars().all(is_cjk)) {
                return Some(Box::new(PhraseQuery::new_with_offset(
                    terms
                        .into_iter()
                        .map(|(p, t)| (p, Term::from_field_text(f.text, &t)))
                        .collect(),
                )));
            }
            // A word that analyses to several other terms (`HTTP/3`, `网络No`): all of them,
            // anywhere in the post.
            Some(Box::new(BooleanQuery::new(
                terms
                    .into_iter()
                    .map(|(_, t)| (Occur::Must, text_term(f, &t, relaxed)))
                    .collect(),
            )))
        }
    }
}

/// A thread in the ranked pass: its best post (and that post's score), its whole document's
/// score, the weighed terms it holds anywhere and those its title holds.
struct Candidate {
    thread: i64,
    post: i64,
    best_post: f32,
    whole: f32,
    held: u128,
    in_title: u128,
}

/// A term in more than this share of the documents finds no candidates in the ranked pass
/// (it still counts in their coverage).
const COMMON_SHARE: f32 = 0.1;
/// The rarest terms that find candidates whatever their share.
const MIN_SEARCHED: usize = 2;

/// The most terms the ranked pass weighs (a bit each).
const MAX_RANKED_TERMS: usize = 128;

/// What the ranked pass looks for: the distinct terms that exist (with idf), the typed words
/// as units of weight over them, and variants that stand in for some of those terms.
struct WeighedTerms {
    total: f32,
    terms: Vec<(String, f32)>,
    /// Each term's document frequency.
    dfs: Vec<u64>,
    units: Vec<Unit>,
    alternatives: Vec<Alternative>,
}

struct Unit {
    terms: Vec<usize>,
    /// A CJK run: held in the share of its bigrams present; a word: held when any term is.
    run: bool,
}

/// When a document holds every term of `needs`, it counts as holding `covers`.
struct Alternative {
    needs: Vec<usize>,
    covers: Vec<usize>,
}

impl WeighedTerms {
    fn new(total: f32) -> Self {
        WeighedTerms {
            total,
            terms: Vec::new(),
            dfs: Vec::new(),
            units: Vec::new(),
            alternatives: Vec::new(),
        }
    }

    /// The index of `term` among the weighed terms; None when no document holds it (or too
    /// many terms are weighed already).
    fn term(
        &mut self,
        searcher: &Searcher,
        f: &Fields,
        term: &str,
    ) -> Result<Option<usize>, SearchError> {
        if let Some(i) = self.terms.iter().position(|(t, _)| t == term) {
            return Ok(Some(i));
        }
        if self.terms.len() >= MAX_RANKED_TERMS {
            return Ok(None);
        }
        let df = searcher.doc_freq(&Term::from_field_text(f.text, term))?;
        if df == 0 {
            return Ok(None);
        }
        let idf = (1.0 + (self.total - df as f32 + 0.5) / (df as f32 + 0.5)).ln();
        self.terms.push((term.to_string(), idf));
        self.dfs.push(df);
        Ok(Some(self.terms.len() - 1))
    }

    /// The terms that find candidates: all but those in more than [`COMMON_SHARE`] of the
    /// documents, which every thread holds and which would make the search score most of the
    /// index; the rarest [`MIN_SEARCHED`] are kept whatever their share. Every term still
    /// counts towards a candidate's coverage.
    fn searched(&self) -> Vec<usize> {
        let mut by_rarity: Vec<usize> = (0..self.terms.len()).collect();
        by_rarity.sort_by_key(|&i| self.dfs[i]);
        by_rarity
            .iter()
            .enumerate()
            .filter(|&(rank, &i)| {
                rank < MIN_SEARCHED || (self.dfs[i] as f32) <= COMMON_SHARE * self.total
            })
            .map(|(_, &i)| i)
            .collect()
    }

    fn unit(&mut self, terms: Vec<usize>, run: bool) {
        self.units.push(Unit { terms, run });
    }

    /// Adds `text` (analysed) as a stand-in for the weighed terms `covers` picks, when all of
    /// its terms exist.
    fn alternative(
        &mut self,
        searcher: &Searcher,
        f: &Fields,
        a: &mut Analysers,
        text: &str,
        covers: impl Fn(&str) -> bool,
    ) -> Result<(), SearchError> {
        let Terms::Text(analysed) = terms_of(a, text) else {
            return Ok(());
        };
        let mut needs = Vec::new();
        for (_, term) in &analysed {
            match self.term(searcher, f, term)? {
                Some(i) => needs.push(i),
                None => return Ok(()),
            }
        }
        let covered: Vec<usize> = self
            .terms
            .iter()
            .enumerate()
            .filter(|(i, (t, _))| !needs.contains(i) && covers(t))
            .map(|(i, _)| i)
            .collect();
        if !needs.is_empty() {
            self.alternatives.push(Alternative {
                needs,
                covers: covered,
            });
        }
        Ok(())
    }

    /// The terms the alternatives added since the `from`th need.
    fn needs_since(&self, from: usize) -> Vec<usize> {
        let mut out: Vec<usize> = self.alternatives[from.min(self.alternatives.len())..]
            .iter()
            .flat_map(|alt| alt.needs.iter().copied())
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The share of the query's weight a set of held terms carries.
    fn coverage(&self, mut held: u128) -> f32 {
        for alt in &self.alternatives {
            if alt.needs.iter().all(|&i| held & (1 << i) != 0) {
                for &i in &alt.covers {
                    held |= 1 << i;
                }
            }
        }
        let idf = |i: usize| self.terms[i].1;
        let mut all = 0.0;
        let mut matched = 0.0;
        for unit in self.units.iter().filter(|u| !u.terms.is_empty()) {
            if unit.run {
                let weight: f32 =
                    unit.terms.iter().map(|&i| idf(i)).sum::<f32>() / unit.terms.len() as f32;
                let sum: f32 = unit.terms.iter().map(|&i| idf(i)).sum();
                let present: f32 = unit
                    .terms
                    .iter()
                    .filter(|&&i| held & (1 << i) != 0)
                    .map(|&i| idf(i))
                    .sum();
                all += weight;
                matched += weight * present / sum.max(f32::EPSILON);
            } else {
                let weight = unit.terms.iter().map(|&i| idf(i)).fold(0.0, f32::max);
                all += weight;
                if unit.terms.iter().any(|&i| held & (1 << i) != 0) {
                    matched += weight;
                }
            }
        }
        // A typed word no post holds is a word no thread matches: it weighs as much as the
        // average known word, so a thread holding one word of several is not a full match.
        // (Not a CJK run: asked about an English thread, its characters are expected nowhere.)
        let known = self.units.iter().filter(|u| !u.terms.is_empty()).count();
        let unknown = self
            .units
            .iter()
            .filter(|u| u.terms.is_empty() && !u.run)
            .count();
        if known > 0 {
            all += unknown as f32 * all / known as f32;
        }
        if all > 0.0 { matched / all } else { 0.0 }
    }
}

/// The positions of `docs` by segment, each segment's in document order (so a posting list
/// is walked once, forwards).
fn by_segment(docs: &[(f32, DocAddress)]) -> HashMap<u32, Vec<usize>> {
    let mut out: HashMap<u32, Vec<usize>> = HashMap::new();
    for (i, (_, addr)) in docs.iter().enumerate() {
        out.entry(addr.segment_ord).or_default().push(i);
    }
    for indexes in out.values_mut() {
        indexes.sort_by_key(|&i| docs[i].1.doc_id);
    }
    out
}

/// One part of a rescoring sum: a term (or phrase) query, its weight, and the weighed term it
/// stands for (`bit`), with whether it is a title's.
struct Part {
    query: Box<dyn TantivyQuery>,
    weight: f32,
    bit: Option<usize>,
    title: bool,
}

/// A document scored again: its score, the weighed terms it holds, and those it holds in a
/// title (its own or the one a reply carries).
struct Rescored {
    score: f32,
    held: u128,
    in_title: u128,
}

/// `docs` scored again as the sum of `parts` (each query's score times its weight; a document
/// a part does not match gets nothing from it), in the same order, with the terms each holds.
/// Each part is a term or a phrase, whose postings are read once per segment, skipping to the
/// documents: far cheaper than a union of the same terms, which walks every posting of the
/// common ones.
fn rescore(
    searcher: &Searcher,
    parts: &[Part],
    docs: &[(f32, DocAddress)],
) -> Result<Vec<Rescored>, SearchError> {
    let segments = by_segment(docs);
    let mut out: Vec<Rescored> = docs
        .iter()
        .map(|_| Rescored {
            score: 0.0,
            held: 0,
            in_title: 0,
        })
        .collect();
    for part in parts {
        let scoring = tantivy::query::EnableScoring::enabled_from_searcher(searcher);
        let weight = part.query.weight(scoring)?;
        for (&segment_ord, indexes) in &segments {
            let mut scorer = weight.scorer(searcher.segment_reader(segment_ord), 1.0)?;
            for &i in indexes {
                let doc = docs[i].1.doc_id;
                if scorer.doc() == tantivy::TERMINATED {
                    break;
                }
                if scorer.doc() > doc || scorer.seek(doc) != doc {
                    continue;
                }
                let r = &mut out[i];
                r.score += part.weight * scorer.score();
                if let Some(bit) = part.bit {
                    r.held |= 1 << bit;
                    if part.title {
                        r.in_title |= 1 << bit;
                    }
                }
            }
        }
    }
    Ok(out)
}

/// The threads of both passes, each once with its better score, best first.
fn merge(strict: Vec<Hit>, ranked: Vec<Hit>) -> Vec<Hit> {
    let mut by_thread: HashMap<i64, Hit> = HashMap::new();
    for hit in strict.into_iter().chain(ranked) {
        match by_thread.get_mut(&hit.thread_id) {
            Some(kept) if kept.score >= hit.score => {}
            Some(kept) => *kept = hit,
            None => {
                by_thread.insert(hit.thread_id, hit);
            }
        }
    }
    let mut out: Vec<Hit> = by_thread.into_values().collect();
    out.sort_by(|x, y| {
        y.score
            .total_cmp(&x.score)
            .then(x.thread_id.cmp(&y.thread_id))
    });
    out
}

/// Surface forms one edit away from `word` (deletion, transposition, substitution, insertion).
fn one_edit_away(word: &str) -> Vec<String> {
    let chars: Vec<char> = word.chars().collect();
    let alphabet = "abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    for i in 0..chars.len() {
        let mut v = chars.clone();
        v.remove(i);
        out.push(v.into_iter().collect());
    }
    for i in 0..chars.len().saturating_sub(1) {
        let mut v = chars.clone();
        v.swap(i, i + 1);
        out.push(v.into_iter().collect());
    }
    for i in 0..chars.len() {
        for c in alphabet.chars() {
            if c != chars[i] {
                let mut v = chars.clone();
                v[i] = c;
                out.push(v.into_iter().collect());
            }
        }
    }
    for i in 0..=chars.len() {
        for c in alphabet.chars() {
            let mut v = chars.clone();
            v.insert(i, c);
            out.push(v.into_iter().collect());
        }
    }
    out
}

impl SearchIndex {
    /// Runs a parsed query and returns one page of threads.
    ///
    /// Words must all appear in one post (the opening post's text includes the title). When
    /// that finds too few threads, a second, relaxed pass also lets a word match the thread's
    /// title as a reply carries it, so "reachability waitsForConnectivity" finds the thread
    /// titled about reachability whose answer names the API; those threads follow the strict
    /// matches.
    pub fn search(&self, query: &Query, offset: usize, limit: usize) -> Result<Found, SearchError> {
        let searcher = self.reader.searcher();
        let mut found = Found::default();
        if query.is_empty() || limit == 0 {
            return Ok(found);
        }
        // Question and function words never decide what matches.
        let query = &crate::words::content_of(query);
        let Some((strict, words)) = self.build(&searcher, query, false, &mut found)? else {
            return Ok(found);
        };
        let wanted = offset + limit + 1;
        let sort = match (words, query.sort) {
            // Without words there is no relevance: newest activity first.
            (0, Sort::Relevance) => Sort::Activity,
            (_, sort) => sort,
        };
        let mut grouped = self.threads_of(&searcher, &*strict, sort, wanted, &found.highlight)?;
        let every_word = grouped.len();
        if words >= 2 && grouped.len() < wanted {
            let mut scratch = Found::default();
            if let Some((relaxed, _)) = self.build(&searcher, query, true, &mut scratch)? {
                let more = self.threads_of(&searcher, &*relaxed, sort, wanted, &found.highlight)?;
                let seen: HashSet<i64> = grouped.iter().map(|h| h.thread_id).collect();
                grouped.extend(more.into_iter().filter(|h| !seen.contains(&h.thread_id)));
            }
        }
        // The strict pass answers clearly when every-word matches fill the page; otherwise
        // the ranked pass, words optional, finds the threads that match the most of the
        // query's distinctive words, and the best of both lead.
        if sort == Sort::Relevance && words >= 1 && every_word < wanted {
            let (mut ranked, unknown) = self.ranked(&searcher, query, wanted, &mut found)?;
            // Beside threads that hold every word, only near misses; alone, the closest.
            // Of two words, one alone is no near miss.
            let floor = if grouped.is_empty() {
                PARTIAL_FLOOR
            } else if words >= 3 {
                NEAR_MISS_FLOOR
            } else {
                1.0 - f32::EPSILON
            };
            let best = ranked.first().map_or(0.0, |h| h.score);
            ranked.retain(|h| h.coverage >= floor && h.score >= best * WEAK_SHARE);
            grouped = merge(grouped, ranked);
            // Said when no thread holds every word (a word the forum never uses included).
            found.partial =
                !grouped.is_empty() && (unknown || grouped.iter().all(|h| h.coverage < 0.999));
        }
        found.more = grouped.len() > offset + limit;
        found.hits = grouped.into_iter().skip(offset).take(limit).collect();
        Ok(found)
    }

    /// The ranked pass: every content term optional, BM25 over text (and, on replies, the
    /// thread's title), then each thread scored by its best post times the square of its
    /// coverage: the share of the query's weight that the thread's matching posts hold
    /// together (so words spread across question and answer count, and the distinctive words
    /// lead). Each typed word is one unit of weight (its idf); a CJK run is one unit, held in
    /// the share of its bigrams present. Variants stand in for what they replace: a spelling
    /// joined from two typed words (`set up` → `setup`), an abbreviation or its expansion, an
    /// English term for a Chinese or Japanese one.
    fn ranked(
        &self,
        searcher: &Searcher,
        query: &Query,
        wanted: usize,
        found: &mut Found,
    ) -> Result<(Vec<Hit>, bool), SearchError> {
        let f = self.fields;
        let mut a = Analysers::new();
        let mut weighed = WeighedTerms::new(searcher.num_docs().max(1) as f32);
        // A word none of whose terms is in the index.
        let mut unknown = false;
        // Exact phrases (and lone CJK characters) stay required; a CJK run counts more where it
        // stands together.
        let mut phrases: Vec<Box<dyn TantivyQuery>> = Vec::new();
        let mut runs: Vec<Box<dyn TantivyQuery>> = Vec::new();
        // The single term of each plain word, in order (for joined spellings).
        let mut plain: Vec<Option<(String, String)>> = Vec::new();
        for text in &query.required {
            let raw = match text {
                Text::Word(w) => found
                    .corrections
                    .iter()
                    .find(|c| &c.typed == w)
                    .map_or(w.clone(), |c| c.instead.clone()),
                Text::Phrase(_) => {
                    let mut unused = Highlight::default();
                    if let Some(q) = text_query(&f, &mut a, text, &mut unused, false) {
                        phrases.push(q);
                    }
                    plain.push(None);
                    continue;
                }
            };
            let analysed = match terms_of(&mut a, &raw) {
                Terms::Text(analysed) => analysed,
                // One CJK character alone: in a few words, typed on purpose (required, as a
                // phrase is); in a question, a particle or a verb (用, 后, 上) left out.
                Terms::Cjk1(c) => {
                    if query.required.len() <= 3 {
                        phrases.push(term_query(Term::from_field_text(f.cjk1, &c)));
                    }
                    plain.push(None);
                    continue;
                }
                Terms::Nothing => {
                    plain.push(None);
                    continue;
                }
            };
            let cjk = analysed.iter().all(|(_, t)| t.chars().all(is_cjk));
            if cjk && analysed.len() > 1 {
                runs.push(Box::new(PhraseQuery::new_with_offset(
                    analysed
                        .iter()
                        .map(|(p, t)| (*p, Term::from_field_text(f.text, t)))
                        .collect(),
                )));
            }
            let mut unit = Vec::new();
            for (_, term) in &analysed {
                if let Some(i) = weighed.term(searcher, &f, term)? {
                    unit.push(i);
                }
            }
            plain.push(match analysed.as_slice() {
                [(_, term)] if !cjk => Some((raw.to_lowercase(), term.clone())),
                _ => None,
            });
            let before = weighed.alternatives.len();
            // The glossary's terms in a CJK run, each with the English terms that stand for it.
            let mut glossed: Vec<(&str, Vec<usize>)> = Vec::new();
            if cjk {
                // English terms for the Chinese and Japanese ones in the run.
                for (native, english) in crate::words::glossary_in(&raw) {
                    let from = weighed.alternatives.len();
                    weighed.alternative(searcher, &f, &mut a, english, |t| {
                        native.chars().count() >= 2
                            && raw.contains(native)
                            && t.chars().all(is_cjk)
                            && native.contains(t)
                    })?;
                    glossed.push((native, weighed.needs_since(from)));
                }
            } else {
                let lower = raw.to_lowercase();
                let learned = self.learned_expansion(&lower);
                for variant in crate::words::variants_of(&lower).into_iter().chain(learned) {
                    let covered: Vec<String> = analysed.iter().map(|(_, t)| t.clone()).collect();
                    weighed.alternative(searcher, &f, &mut a, &variant, |t| {
                        covered.iter().any(|c| c == t)
                    })?;
                }
            }
            {
                // The glossary's terms in a run typed without spaces are words of their own
                // (后台上传完成了 → 后台, 上传 and the rest): each is held by its characters or by
                // its English, so an English thread that holds them is not judged by the rest
                // of the run, which no English thread holds.
                for (native, english) in glossed {
                    if native.chars().count() < 2 {
                        continue;
                    }
                    let mut word: Vec<usize> = unit
                        .iter()
                        .copied()
                        .filter(|&i| native.contains(weighed.terms[i].0.as_str()))
                        .collect();
                    unit.retain(|i| !word.contains(i));
                    word.extend(english);
                    if !word.is_empty() {
                        weighed.unit(word, false);
                    }
                }
            }
            if unit.is_empty() {
                // A word the forum writes only another way (`ble` where posts say "Bluetooth
                // Low Energy"): the other way is the unit.
                unit = weighed.needs_since(before);
            }
            unknown |= unit.is_empty();
            weighed.unit(unit, cjk);
        }
        // Two typed words that the forum writes as one (`set up` → `setup`, `wi fi` → `wifi`).
        for pair in plain.windows(2) {
            if let [Some((w1, t1)), Some((w2, t2))] = pair {
                let joined = format!("{w1}{w2}");
                let (t1, t2) = (t1.clone(), t2.clone());
                weighed.alternative(searcher, &f, &mut a, &joined, |t| t == t1 || t == t2)?;
            }
        }
        // Two-word expansions typed out (`low energy` after `bluetooth`), as one abbreviation.
        let typed: Vec<String> = plain
            .iter()
            .map(|p| p.as_ref().map_or(String::new(), |(w, _)| w.clone()))
            .collect();
        let learned: Vec<(String, String)> = match self.learned.read() {
            Ok(learned) => {
                let padded = format!(" {} ", typed.join(" "));
                learned
                    .iter()
                    // The cheap test first: most expansions are nowhere in the query.
                    .filter(|(_, long)| {
                        padded.contains(long.as_str()) && padded.contains(&format!(" {long} "))
                    })
                    .map(|(short, long)| (short.clone(), long.clone()))
                    .collect()
            }
            Err(_) => Vec::new(),
        };
        let curated = crate::words::expansions_in(&typed.join(" "))
            .into_iter()
            .map(|(short, long)| (short.to_string(), long.to_string()));
        for (short, long) in curated.chain(learned) {
            let (short, long) = (short.as_str(), long.as_str());
            let long_terms: Vec<String> = match terms_of(&mut a, long) {
                Terms::Text(t) => t.into_iter().map(|(_, t)| t).collect(),
                _ => Vec::new(),
            };
            weighed.alternative(searcher, &f, &mut a, short, |t| {
                long_terms.iter().any(|l| l == t)
            })?;
        }
        if weighed.units.iter().all(|u| u.terms.is_empty()) && weighed.alternatives.is_empty() {
            return Ok((Vec::new(), unknown));
        }
        for (term, _) in &weighed.terms {
            found.highlight.text.insert(term.clone());
        }
        // Every term scores; only the rarer ones find candidates (see `searched`), and only
        // in the posts' text: a flat disjunction of terms, which tantivy prunes with block-max
        // WAND. The candidates are then scored by the whole query: every term, in the text,
        // the title a reply carries and the title (counting double, as in similar threads: a
        // thread's title says what it is about), and the CJK runs where they stand together.
        let searched = weighed.searched();
        let finder: Box<dyn TantivyQuery> = Box::new(BooleanQuery::new(
            searched
                .iter()
                .map(|&i| {
                    let term = Term::from_field_text(f.text, &weighed.terms[i].0);
                    (Occur::Should, term_query(term))
                })
                .collect(),
        ));
        let mut full: Vec<Part> = Vec::new();
        for (bit, (t, _)) in weighed.terms.iter().enumerate() {
            for (field, weight, title) in [
                (f.text, 1.0, false),
                (f.context, CONTEXT_WEIGHT, true),
                (f.title, RANKED_TITLE_TERMS, true),
            ] {
                full.push(Part {
                    query: term_query(Term::from_field_text(field, t)),
                    weight,
                    bit: Some(bit),
                    title,
                });
            }
        }
        full.extend(runs.into_iter().map(|query| Part {
            query,
            weight: 1.0,
            bit: None,
            title: false,
        }));
        let mut clauses: Vec<(Occur, Box<dyn TantivyQuery>)> = vec![(Occur::Must, finder)];
        // What a whole document cannot answer (it has no positions and no single posts):
        // phrases, lone characters and exclusions. Then it only adds to threads found here.
        let whole_may_find = phrases.is_empty() && query.excluded.is_empty();
        clauses.extend(phrases.into_iter().map(|q| (Occur::Must, q)));
        self.filters(&mut a, query, &mut clauses);
        let q: Box<dyn TantivyQuery> = if clauses.len() == 1 {
            clauses.remove(0).1
        } else {
            Box::new(BooleanQuery::new(clauses))
        };
        // Posts enough for the page's threads (the whole documents bring threads too).
        let candidates = (wanted * 5).clamp(50, MAX_CANDIDATES);
        let top = searcher.search(&*q, &TopDocs::with_limit(candidates).order_by_score())?;
        let rescored = rescore(searcher, &full, &top)?;
        // Which terms each candidate holds (its text, or the title a reply carries), and which
        // its thread's title holds; by document, as reranking reorders them.
        let terms_of_doc: HashMap<DocAddress, (u128, u128)> = top
            .iter()
            .zip(&rescored)
            .map(|((_, addr), r)| (*addr, (r.held, r.in_title)))
            .collect();
        let top: Vec<(f32, DocAddress)> = top
            .iter()
            .zip(&rescored)
            .map(|((_, addr), r)| (r.score, *addr))
            .collect();
        let top = self.rerank(searcher, &found.highlight, top)?;
        let (held, in_title): (Vec<u128>, Vec<u128>) = top
            .iter()
            .map(|(_, addr)| terms_of_doc.get(addr).copied().unwrap_or((0, 0)))
            .unzip();
        // Threads: the best post's score, the terms of all their candidate posts together.
        let thread_of = self.thread_and_post_ids(searcher, &top)?;
        let mut threads: Vec<Candidate> = Vec::new();
        let mut at: HashMap<i64, usize> = HashMap::new();
        for (i, (score, _)) in top.iter().enumerate() {
            let (thread, post) = thread_of[i];
            match at.get(&thread) {
                Some(&k) => {
                    threads[k].held |= held[i];
                    threads[k].in_title |= in_title[i];
                }
                None => {
                    at.insert(thread, threads.len());
                    threads.push(Candidate {
                        thread,
                        post,
                        best_post: *score,
                        whole: 0.0,
                        held: held[i],
                        in_title: in_title[i],
                    });
                }
            }
        }
        // The threads as wholes: question, answers and best replies together, so words spread
        // over them count as one document's and a long thread is not judged by one post.
        // Filters on single posts (author, dates) leave this out.
        if query.author.is_none() && query.before.is_none() && query.after.is_none() {
            for (thread, lead, score, held) in self.wholes(searcher, query, &weighed, candidates)? {
                match at.get(&thread) {
                    Some(&k) => {
                        threads[k].whole = score;
                        threads[k].held |= held;
                    }
                    None if whole_may_find => {
                        at.insert(thread, threads.len());
                        threads.push(Candidate {
                            thread,
                            post: lead,
                            best_post: 0.0,
                            whole: score,
                            held,
                            in_title: 0,
                        });
                    }
                    None => {}
                }
            }
        }
        // Many threads hold the same terms: each set's coverage is worked out once.
        let mut coverages: HashMap<u128, f32> = HashMap::new();
        let mut coverage_of = |held: u128| {
            *coverages
                .entry(held)
                .or_insert_with(|| weighed.coverage(held))
        };
        let mut hits: Vec<Hit> = threads
            .into_iter()
            .map(|c| {
                let coverage = coverage_of(c.held);
                // A title that states most of the question says the thread is about it.
                let title = coverage_of(c.in_title);
                let score = c.best_post.max(WHOLE_WEIGHT * c.whole);
                Hit {
                    thread_id: c.thread,
                    post_id: c.post,
                    score: score * coverage * coverage * (1.0 + RANKED_TITLE_WEIGHT * title),
                    coverage,
                }
            })
            .collect();
        hits.sort_by(|x, y| y.score.total_cmp(&x.score));
        Ok((hits, unknown))
    }

    /// The best `candidates` whole-thread documents for the ranked pass's terms, as (thread,
    /// opening post, BM25 score, the terms each holds).
    fn wholes(
        &self,
        searcher: &Searcher,
        query: &Query,
        weighed: &WeighedTerms,
        candidates: usize,
    ) -> Result<Vec<(i64, i64, f32, u128)>, SearchError> {
        let f = self.fields;
        let searched = weighed.searched();
        if searched.is_empty() {
            return Ok(Vec::new());
        }
        let whole_term = |i: usize| term_query(Term::from_field_text(f.whole, &weighed.terms[i].0));
        let finder: Box<dyn TantivyQuery> = Box::new(BooleanQuery::new(
            searched
                .iter()
                .map(|&i| (Occur::Should, whole_term(i)))
                .collect(),
        ));
        let mut clauses: Vec<(Occur, Box<dyn TantivyQuery>)> = vec![(Occur::Must, finder)];
        let mut a = Analysers::new();
        self.filters(&mut a, query, &mut clauses);
        // Without filters, the flat disjunction alone (pruned with block-max WAND).
        let q: Box<dyn TantivyQuery> = if clauses.len() == 1 {
            clauses.remove(0).1
        } else {
            Box::new(BooleanQuery::new(clauses))
        };
        let top = searcher.search(&*q, &TopDocs::with_limit(candidates).order_by_score())?;
        // Scored by every term (the common ones found none), with the terms each holds.
        let parts: Vec<Part> = (0..weighed.terms.len())
            .map(|i| Part {
                query: whole_term(i),
                weight: 1.0,
                bit: Some(i),
                title: false,
            })
            .collect();
        let rescored = rescore(searcher, &parts, &top)?;
        let mut out: Vec<(i64, i64, f32, u128)> = Vec::with_capacity(top.len());
        let mut ids: Vec<(i64, i64)> = vec![(0, 0); top.len()];
        for (segment_ord, indexes) in by_segment(&top) {
            let segment = searcher.segment_reader(segment_ord);
            let threads = segment.fast_fields().u64("thread_id")?;
            let leads = segment.fast_fields().u64("lead")?;
            for &i in &indexes {
                let doc = top[i].1.doc_id;
                ids[i] = (
                    threads.first(doc).unwrap_or(0) as i64,
                    leads.first(doc).unwrap_or(0) as i64,
                );
            }
        }
        for (i, r) in rescored.iter().enumerate() {
            out.push((ids[i].0, ids[i].1, r.score, r.held));
        }
        Ok(out)
    }

    /// The thread and post id of each scored document.
    fn thread_and_post_ids(
        &self,
        searcher: &Searcher,
        docs: &[(f32, DocAddress)],
    ) -> Result<Vec<(i64, i64)>, SearchError> {
        let mut columns = HashMap::new();
        let mut out = Vec::with_capacity(docs.len());
        for (_, addr) in docs {
            let (threads, posts) = match columns.get(&addr.segment_ord) {
                Some(c) => c,
                None => {
                    let segment = searcher.segment_reader(addr.segment_ord);
                    let c = (
                        segment.fast_fields().u64("thread_id")?,
                        segment.fast_fields().u64("post_id")?,
                    );
                    columns.entry(addr.segment_ord).or_insert(c)
                }
            };
            out.push((
                threads.first(addr.doc_id).unwrap_or(0) as i64,
                posts.first(addr.doc_id).unwrap_or(0) as i64,
            ));
        }
        Ok(out)
    }

    /// At least `wanted` threads (if there are that many) for a query, best first. Posts are
    /// read in growing batches: threads with many matching posts take more than one each.
    fn threads_of(
        &self,
        searcher: &Searcher,
        query: &dyn TantivyQuery,
        sort: Sort,
        wanted: usize,
        highlight: &Highlight,
    ) -> Result<Vec<Hit>, SearchError> {
        let mut candidates = (wanted * 4).clamp(MIN_CANDIDATES, MAX_CANDIDATES);
        loop {
            let scored = self.run(searcher, query, sort, candidates, highlight)?;
            let exhausted = scored.len() < candidates;
            let grouped = self.group(searcher, scored)?;
            if grouped.len() >= wanted || exhausted || candidates >= MAX_WIDENED_CANDIDATES {
                return Ok(grouped);
            }
            candidates = (candidates * 4).min(MAX_WIDENED_CANDIDATES);
        }
    }

    /// The tantivy query for `query` and how many word clauses it has; `None` when nothing
    /// is left to search by.
    fn build(
        &self,
        searcher: &Searcher,
        query: &Query,
        relaxed: bool,
        found: &mut Found,
    ) -> Result<Option<Built>, SearchError> {
        let f = self.fields;
        let mut a = Analysers::new();
        let mut clauses: Vec<(Occur, Box<dyn TantivyQuery>)> = Vec::new();
        for text in &query.required {
            let q = match text {
                Text::Word(w) if w.chars().count() >= FUZZY_MIN_CHARS => {
                    self.word_or_correction(searcher, &mut a, w, found, relaxed)?
                }
                _ => text_query(&f, &mut a, text, &mut found.highlight, relaxed),
            };
            if let Some(q) = q {
                clauses.push((Occur::Must, q));
            }
        }
        let words = clauses.len();
        self.filters(&mut a, query, &mut clauses);
        if words == 0 && !query.has_filters() {
            // Only words that analyse to nothing (punctuation) or exclusions.
            return Ok(None);
        }
        if words == 0 {
            clauses.push((Occur::Must, Box::new(AllQuery)));
            // Filters alone list posts; a thread's whole document is not one.
            clauses.push((
                Occur::MustNot,
                term_query(Term::from_field_u64(f.head, crate::index::WHOLE)),
            ));
        }
        let q: Box<dyn TantivyQuery> = if clauses.len() == 1 && clauses[0].0 == Occur::Must {
            clauses.remove(0).1
        } else {
            Box::new(BooleanQuery::new(clauses))
        };
        Ok(Some((q, words)))
    }

    /// The clauses of a query's exclusions and filters.
    fn filters(
        &self,
        a: &mut Analysers,
        query: &Query,
        clauses: &mut Vec<(Occur, Box<dyn TantivyQuery>)>,
    ) {
        let f = self.fields;
        let mut unused = Highlight::default();
        for text in &query.excluded {
            if let Some(q) = text_query(&f, a, text, &mut unused, false) {
                clauses.push((Occur::MustNot, q));
            }
        }
        for tag in &query.tags {
            clauses.push((Occur::Must, term_query(Term::from_field_text(f.tag, tag))));
        }
        if let Some(s) = &query.subtopic {
            clauses.push((
                Occur::Must,
                term_query(Term::from_field_text(f.subtopic, s)),
            ));
        }
        if let Some(author) = &query.author {
            clauses.push((
                Occur::Must,
                term_query(Term::from_field_text(f.author, author)),
            ));
        }
        for state in &query.states {
            clauses.push((
                Occur::Must,
                term_query(Term::from_field_text(f.state, state.keyword())),
            ));
        }
        if query.before.is_some() || query.after.is_some() {
            let micros = |d: chrono::NaiveDate| {
                d.and_hms_opt(0, 0, 0)
                    .map(|t| t.and_utc().timestamp_micros())
                    .unwrap_or(0)
            };
            let lower = query.after.map_or(Bound::Unbounded, |d| {
                Bound::Included(Term::from_field_i64(f.created, micros(d)))
            });
            let upper = query.before.map_or(Bound::Unbounded, |d| {
                Bound::Excluded(Term::from_field_i64(f.created, micros(d)))
            });
            clauses.push((Occur::Must, Box::new(RangeQuery::new(lower, upper))));
        }
    }

    /// The best `candidates` posts for a query in the given order, scored for grouping.
    fn run(
        &self,
        searcher: &Searcher,
        query: &dyn TantivyQuery,
        sort: Sort,
        candidates: usize,
        highlight: &Highlight,
    ) -> Result<Vec<(f32, DocAddress)>, SearchError> {
        let docs: Vec<DocAddress> = match sort {
            Sort::Relevance => {
                let top =
                    searcher.search(query, &TopDocs::with_limit(candidates).order_by_score())?;
                return self.rerank(searcher, highlight, top);
            }
            Sort::Boosts => searcher
                .search(
                    query,
                    &TopDocs::with_limit(candidates).order_by_u64_field("boosts", Order::Desc),
                )?
                .into_iter()
                .map(|(_, d)| d)
                .collect(),
            Sort::Activity | Sort::Newest => {
                let field = if sort == Sort::Activity {
                    "created"
                } else {
                    "thread_created"
                };
                searcher
                    .search(
                        query,
                        &TopDocs::with_limit(candidates)
                            .order_by_fast_field::<i64>(field, Order::Desc),
                    )?
                    .into_iter()
                    .map(|(_, d)| d)
                    .collect()
            }
        };
        let n = docs.len() as f32;
        Ok(docs
            .into_iter()
            .enumerate()
            .map(|(i, d)| (n - i as f32, d))
            .collect())
    }

    /// The query for a word of five or more characters: the word itself, or, when it matches
    /// nothing, the words one edit away that do (best first), recorded as a correction.
    fn word_or_correction(
        &self,
        searcher: &Searcher,
        a: &mut Analysers,
        word: &str,
        found: &mut Found,
        relaxed: bool,
    ) -> Result<Option<Box<dyn TantivyQuery>>, SearchError> {
        let f = self.fields;
        let text = Text::Word(word.to_string());
        let single = match terms_of(a, word) {
            Terms::Text(terms) if terms.len() == 1 => terms[0].1.clone(),
            _ => return Ok(text_query(&f, a, &text, &mut found.highlight, relaxed)),
        };
        let lower = word.to_lowercase();
        let fuzzy_ok = lower.chars().all(|c| c.is_ascii_lowercase());
        if !fuzzy_ok || searcher.doc_freq(&Term::from_field_text(f.text, &single))? > 0 {
            return Ok(text_query(&f, a, &text, &mut found.highlight, relaxed));
        }
        let mut best: Vec<(u64, String, String)> = Vec::new();
        let mut seen = HashSet::new();
        for candidate in one_edit_away(&lower) {
            let Terms::Text(terms) = terms_of(a, &candidate) else {
                continue;
            };
            if terms.len() != 1 || !seen.insert(terms[0].1.clone()) {
                continue;
            }
            let df = searcher.doc_freq(&Term::from_field_text(f.text, &terms[0].1))?;
            if df > 0 {
                best.push((df, candidate, terms[0].1.clone()));
            }
        }
        if best.is_empty() {
            // Nothing close either: search the word as typed (it will match nothing).
            return Ok(text_query(&f, a, &text, &mut found.highlight, relaxed));
        }
        best.sort_by(|x, y| y.0.cmp(&x.0).then_with(|| x.1.cmp(&y.1)));
        best.truncate(3);
        found.corrections.push(Correction {
            typed: word.to_string(),
            instead: best[0].1.clone(),
        });
        let alternatives: Vec<(Occur, Box<dyn TantivyQuery>)> = best
            .into_iter()
            .map(|(_, _, term)| {
                found.highlight.text.insert(term.clone());
                (
                    Occur::Should,
                    term_query(Term::from_field_text(f.text, &term)),
                )
            })
            .collect();
        Ok(Some(Box::new(BooleanQuery::new(alternatives))))
    }

    /// Applies the title, answer and recency adjustments to BM25 candidates.
    fn rerank(
        &self,
        searcher: &Searcher,
        highlight: &Highlight,
        top: Vec<(f32, DocAddress)>,
    ) -> Result<Vec<(f32, DocAddress)>, SearchError> {
        let now = chrono::Utc::now().timestamp_micros();
        let f = self.fields;
        let title_terms: Vec<Term> = highlight
            .text
            .iter()
            .map(|t| Term::from_field_text(f.title, t))
            .collect();
        let mut scored = top.clone();
        for (segment_ord, indexes) in by_segment(&top) {
            let segment = searcher.segment_reader(segment_ord);
            let answers = segment.fast_fields().u64("answer")?;
            let created = segment.fast_fields().i64("created")?;
            let mut title_hits = vec![0usize; indexes.len()];
            if !title_terms.is_empty() {
                let inverted = segment.inverted_index(f.title)?;
                for term in &title_terms {
                    let Some(mut postings) =
                        inverted.read_postings(term, IndexRecordOption::Basic)?
                    else {
                        continue;
                    };
                    for (k, &i) in indexes.iter().enumerate() {
                        let doc = top[i].1.doc_id;
                        if postings.doc() <= doc && postings.seek(doc) == doc {
                            title_hits[k] += 1;
                        }
                    }
                }
            }
            for (k, &i) in indexes.iter().enumerate() {
                let doc = top[i].1.doc_id;
                let base = top[i].0;
                let title = if title_terms.is_empty() {
                    0.0
                } else {
                    title_hits[k] as f32 / title_terms.len() as f32
                };
                let answer = answers.first(doc).unwrap_or(0);
                let answer_bonus = if answer & 1 == 1 { ANSWER_WEIGHT } else { 0.0 }
                    + if answer & 2 == 2 { ANSWER_WEIGHT } else { 0.0 };
                let age_days = (now - created.first(doc).unwrap_or(now)).max(0) / MICROS_PER_DAY;
                let recency = RECENCY_WEIGHT * (-(age_days as f32) / 365.0).exp();
                scored[i].0 = base * (1.0 + TITLE_WEIGHT * title + answer_bonus + recency);
            }
        }
        scored.sort_by(|x, y| y.0.total_cmp(&x.0));
        Ok(scored)
    }

    /// Keeps each thread's best post, in order.
    fn group(
        &self,
        searcher: &Searcher,
        scored: Vec<(f32, DocAddress)>,
    ) -> Result<Vec<Hit>, SearchError> {
        let ids = self.thread_and_post_ids(searcher, &scored)?;
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for ((score, _), (thread_id, post_id)) in scored.into_iter().zip(ids) {
            if seen.insert(thread_id) {
                out.push(Hit {
                    thread_id,
                    post_id,
                    score,
                    coverage: 1.0,
                });
            }
        }
        Ok(out)
    }

    /// Threads like `text` (a title, perhaps with a body): the most distinctive terms of the
    /// text, any of them, in titles (counting double) and posts. `exclude` leaves out the thread
    /// asked about. Weak matches (under a quarter of the best score) are left out.
    pub fn similar(
        &self,
        text: &str,
        exclude: Option<i64>,
        limit: usize,
    ) -> Result<Vec<Hit>, SearchError> {
        const MAX_TERMS: usize = 12;
        let searcher = self.reader.searcher();
        let f = self.fields;
        let mut a = Analysers::new();
        let total = searcher.num_docs().max(1) as f32;
        let mut counts: HashMap<String, usize> = HashMap::new();
        for t in analyzer::tokens(&mut a.text, text) {
            // One- and two-letter Latin terms say little about a subject.
            if t.text.chars().count() > 2 || t.text.chars().any(is_cjk) {
                *counts.entry(t.text).or_default() += 1;
            }
        }
        let mut weighted: Vec<(f32, String)> = Vec::new();
        for (term, tf) in counts {
            let df = searcher.doc_freq(&Term::from_field_text(f.text, &term))?;
            if df == 0 {
                continue;
            }
            let idf = (1.0 + (total - df as f32 + 0.5) / (df as f32 + 0.5)).ln();
            weighted.push(((tf as f32).sqrt() * idf, term));
        }
        weighted.sort_by(|x, y| y.0.total_cmp(&x.0).then_with(|| x.1.cmp(&y.1)));
        weighted.truncate(MAX_TERMS);
        if weighted.is_empty() {
            return Ok(Vec::new());
        }
        let mut clauses: Vec<(Occur, Box<dyn TantivyQuery>)> = Vec::new();
        for (_, term) in &weighted {
            clauses.push((
                Occur::Should,
                Box::new(BoostQuery::new(
                    term_query(Term::from_field_text(f.title, term)),
                    2.0,
                )),
            ));
            clauses.push((
                Occur::Should,
                term_query(Term::from_field_text(f.text, term)),
            ));
        }
        let top = searcher.search(
            &BooleanQuery::new(clauses),
            &TopDocs::with_limit((limit + 1) * 10).order_by_score(),
        )?;
        // The thread asked about matches itself best: leave it out before judging the rest.
        let mut hits = self.group(&searcher, top)?;
        hits.retain(|h| Some(h.thread_id) != exclude);
        let best = hits.first().map_or(0.0, |h| h.score);
        hits.retain(|h| h.score >= best * 0.25);
        hits.truncate(limit);
        Ok(hits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_edit_away_covers_the_four_edits() {
        let all = one_edit_away("netwrok");
        for fixed in ["network", "netwok", "netwrk", "netwrork"] {
            assert!(all.iter().any(|c| c == fixed), "{fixed}");
        }
    }

    #[test]
    fn code_words_search_their_whole_form() {
        let mut a = Analysers::new();
        let Terms::Text(terms) = terms_of(&mut a, "NWConnection") else {
            panic!("no terms");
        };
        assert_eq!(terms, [(0, "nwconnect".to_string())]);
        assert!(matches!(terms_of(&mut a, "网"), Terms::Cjk1(c) if c == "网"));
        assert!(matches!(terms_of(&mut a, "!!"), Terms::Nothing));
    }
}
