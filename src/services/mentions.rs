//! `@name` mentions: which names in a text are members (looked up as usernames are, ignoring
//! case), so the renderer links them to their profiles. Who a mention notifies is the
//! notifier's business (`services::notify`); this is only what a post shows.

use agora_markup::Mentionable;
use agora_store::{Store, StoreError, UserId};

/// The members the texts mention, for [`agora_markup::render_post`].
pub async fn mentionable<'a>(
    store: &Store,
    markdowns: impl IntoIterator<Item = &'a str>,
) -> Result<Mentionable, StoreError> {
    let mut names: Vec<String> = Vec::new();
    for markdown in markdowns {
        if !markdown.contains('@') {
            continue;
        }
        for name in agora_markup::mention_candidates(markdown) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    Ok(store
        .usernames_named(names)
        .await?
        .into_iter()
        .map(|(name, username, _)| (name, username))
        .collect())
}

/// The members a text mentions (not in code, links or quotations).
pub async fn mentioned(store: &Store, markdown: &str) -> Result<Vec<UserId>, StoreError> {
    members_named(store, agora_markup::mentions(markdown)).await
}

/// The members some `@name`s stand for, each once.
pub async fn members_named(store: &Store, names: Vec<String>) -> Result<Vec<UserId>, StoreError> {
    let mut users: Vec<UserId> = Vec::new();
    for (_, _, id) in store.usernames_named(names).await? {
        if !users.contains(&id) {
            users.push(id);
        }
    }
    Ok(users)
}
