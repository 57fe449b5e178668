//! Search: the query language, typo tolerance, permissions, pages, feeds and similar threads.
