//! A post's Markdown to the HTML stored with it: its `@name`s of members linked
//! (`services::mentions`) and the forum's uploads it names shown as such
//! (`services::uploads`: thumbnails with their sizes, or "image removed").

use crate::app::AppState;
use crate::error::AppError;

/// A post's HTML, rendered once when it is written.
pub async fn post_html(state: &AppState, markdown: &str) -> Result<String, AppError> {
    let members = crate::services::mentions::mentionable(&state.store, [markdown]).await?;
    let uploads = crate::services::uploads::references(&state.store, [markdown]).await?;
    Ok(agora_markup::render_post(markdown, &members, &uploads))
}
