//! The forum's rules and read assembly, between the handlers and the store.

pub mod archive;
pub mod generate;
pub mod read;
pub mod view_counter;
