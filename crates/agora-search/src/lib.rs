//! Agora's search: a tantivy index derived from the database, the analyzer for mixed English,
//! CJK and code text, the query language, and ranking. The binary feeds it documents and
//! change-log positions; nothing here knows SQL.

pub mod analyzer;
mod index;
pub mod query;
mod search;
mod snippet;

pub use index::{
    IndexStatus, PostDoc, SearchError, SearchIndex, ThreadDoc, current_generation,
    remove_old_generations,
};
pub use query::{Query, Sort, State, Text, parse};
pub use search::{Correction, Found, Highlight, Hit};
pub use snippet::snippet_html;
