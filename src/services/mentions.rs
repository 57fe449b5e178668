//! `@name` mentions: which names in a text are members (looked up as usernames are, ignoring
//! case), so the renderer links them to their profiles. Who a mention notifies is the
//! notifier's business (`services::notify`); this is only what a post shows.

use agora_markup::Mentionable;
use agora_store::{Store, StoreError};

/// The members the texts mention, for [`agora_markup::render_with_mentions`].
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
    Ok(store.usernames_named(names).await?.into_iter().collect())
}

/// A post's HTML, its mentions of members linked.
pub async fn render(store: &Store, markdown: &str) -> Result<String, StoreError> {
    let members = mentionable(store, [markdown]).await?;
    Ok(agora_markup::render_with_mentions(markdown, &members))
}

/// The members a text mentions (not in code, links or quotations), as usernames.
pub async fn mentioned(store: &Store, markdown: &str) -> Result<Vec<String>, StoreError> {
    let names = agora_markup::mentions(markdown);
    let found = store.usernames_named(names).await?;
    let mut users: Vec<String> = Vec::new();
    for (_, username) in found {
        if !users.contains(&username) {
            users.push(username);
        }
    }
    Ok(users)
}
