//! The forum's rules and read assembly, between the handlers and the store.

pub mod accounts;
pub mod archive;
pub mod generate;
pub mod mail;
pub mod members;
pub mod moderation;
pub mod permissions;
pub mod posting;
pub mod read;
pub mod search;
pub mod settings;
pub mod structure;
pub mod view_counter;
