//! The forum's rules and read assembly, between the handlers and the store.

pub mod accounts;
pub mod archive;
pub mod bookmarks;
pub mod drafts;
pub mod generate;
pub mod listing_order;
pub mod live;
pub mod mail;
pub mod members;
pub mod mentions;
pub mod moderation;
pub mod notify;
pub mod permissions;
pub mod posting;
pub mod read;
pub mod render;
pub mod search;
pub mod settings;
pub mod stackexchange;
pub mod structure;
pub mod uploads;
pub mod view_counter;

use agora_store::{Account, Timestamp, UserId};

use crate::error::AppError;
use crate::services::permissions::Action;

/// Who asks for a change: a signed-in account (checked by `services::permissions`), or the
/// operator at the command line (no account; trusted, as the one who runs the server; the
/// change log records no actor).
#[derive(Clone, Copy, Debug)]
pub enum By<'a> {
    Account(Option<&'a Account>),
    Operator,
}

impl<'a> By<'a> {
    /// Whether this one may do `action` (the operator may do anything).
    pub fn authorize(self, action: Action<'_>) -> Result<(), AppError> {
        match self {
            By::Operator => Ok(()),
            By::Account(actor) => Ok(permissions::check(actor, action, Timestamp::now())?),
        }
    }

    /// The acting account; None for the operator.
    pub fn account(self) -> Option<&'a Account> {
        match self {
            By::Account(actor) => actor,
            By::Operator => None,
        }
    }

    pub fn actor_id(self) -> Option<UserId> {
        self.account().map(|a| a.brief.id)
    }
}
