//! Drafts: what a member is writing, kept on the server for each account and place (a new
//! thread, a reply in a thread, an edit of a post) so it survives a closed tab, a refusal or
//! another device. Saved as one types (the page's script) and on every submit that fails;
//! deleted when the post is published. A draft is its author's alone
//! (`permissions::Action::OwnDraft`).

use agora_store::{Account, DraftContent, DraftPlace, DraftRow, PostId, Timestamp};

use crate::app::AppState;
use crate::error::AppError;
use crate::services::accounts::FieldErrors;
use crate::services::permissions::Action;
use crate::services::posting::{self, BODY_CHARS, EDIT_REASON_CHARS, TITLE_CHARS};

/// The longest tags field a draft keeps (what the compose form may hold, with room to spare).
pub const TAGS_CHARS: usize = 200;

/// A saved draft: its id and when.
#[derive(Clone, Copy, Debug)]
pub struct Saved {
    pub id: i64,
    pub at: Timestamp,
}

/// What saving did: kept the text, or (when every field was empty) dropped the draft.
#[derive(Clone, Copy, Debug)]
pub enum Outcome {
    Saved(Saved),
    Cleared,
}

fn blank(content: &DraftContent) -> bool {
    content.title.trim().is_empty()
        && content.tags.trim().is_empty()
        && content.body.trim().is_empty()
        && content.reason.trim().is_empty()
}

/// The limits a draft shares with what it would publish: a draft longer than a post may be is
/// refused (the page keeps it in the browser and says so); control characters that cannot be
/// stored are refused too.
pub fn check(content: &DraftContent) -> Result<(), FieldErrors> {
    let mut errors = FieldErrors::default();
    let too_long = |errors: &mut FieldErrors, field: &'static str, text: &str, max: usize| {
        let n = text.chars().count();
        if n > max {
            errors.add(
                field,
                format!(
                    "This draft is too long to keep: at most {max} characters (it has {n}). \
                     It stays in this browser until you shorten it."
                ),
            );
            false
        } else {
            true
        }
    };
    if too_long(&mut errors, "body", &content.body, BODY_CHARS.1) {
        errors.text("body", &content.body);
    }
    if too_long(&mut errors, "title", &content.title, TITLE_CHARS.1) {
        errors.text("title", &content.title);
    }
    if too_long(&mut errors, "tags", &content.tags, TAGS_CHARS) {
        errors.text("tags", &content.tags);
    }
    if too_long(&mut errors, "reason", &content.reason, EDIT_REASON_CHARS) {
        errors.text("reason", &content.reason);
    }
    errors.text("subtopic", &content.subtopic);
    if content.subtopic.chars().count() > 200 {
        errors.add("subtopic", "Choose a subtopic from the list.");
    }
    if !content.kind.is_empty() && !matches!(content.kind.as_str(), "question" | "discussion") {
        errors.add("kind", "A thread is a question or a discussion.");
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// That the place exists: the thread a reply goes to, the post an edit changes (404 if not).
/// Whether the author may publish there is asked when publishing: a draft for a thread that
/// was locked meanwhile is kept, so the text is not lost.
async fn check_place(state: &AppState, place: DraftPlace) -> Result<(), AppError> {
    match place {
        DraftPlace::NewThread => Ok(()),
        DraftPlace::Reply(thread) => posting::thread_facts(state, thread).await.map(|_| ()),
        DraftPlace::Edit(post) => posting::post_facts(state, post).await.map(|_| ()),
    }
}

/// Saves `account`'s draft for `place`; a draft with nothing in it is deleted instead.
/// Bad content is `Ok(Err(errors))`, naming the field.
pub async fn save(
    state: &AppState,
    account: Option<&Account>,
    place: DraftPlace,
    content: DraftContent,
) -> Result<Result<Outcome, FieldErrors>, AppError> {
    posting::check(account, Action::KeepDraft)?;
    let account = account.ok_or(AppError::Unauthorized)?;
    if let Err(errors) = check(&content) {
        return Ok(Err(errors));
    }
    check_place(state, place).await?;
    if blank(&content) {
        state.store.delete_draft_at(account.brief.id, place).await?;
        return Ok(Ok(Outcome::Cleared));
    }
    let id = state
        .store
        .save_draft(account.brief.id, place, content)
        .await?;
    Ok(Ok(Outcome::Saved(Saved {
        id,
        at: Timestamp::now(),
    })))
}

/// Keeps what a refused submit carried, when the author may keep drafts and it fits; whether
/// it was kept. A draft that cannot be kept is no reason to fail the page that shows the text
/// again (it is in that page, and in the browser's own copy).
pub async fn keep_refused(
    state: &AppState,
    account: Option<&Account>,
    place: DraftPlace,
    content: DraftContent,
) -> bool {
    if account.is_none() {
        return false;
    }
    match save(state, account, place, content).await {
        Ok(Ok(Outcome::Saved(_))) => true,
        Ok(Ok(Outcome::Cleared)) | Ok(Err(_)) => false,
        Err(err) => {
            tracing::warn!(error = %err, place = %place.key(), "a refused submit's draft was not kept");
            false
        }
    }
}

/// `account`'s draft for `place`, if there is one.
pub async fn at(
    state: &AppState,
    account: Option<&Account>,
    place: DraftPlace,
) -> Result<Option<DraftRow>, AppError> {
    let Some(account) = account else {
        return Ok(None);
    };
    posting::check(Some(account), Action::KeepDraft)?;
    Ok(state.store.draft_at(account.brief.id, place).await?)
}

/// One draft by id, for its author alone; anybody else is told there is no such draft.
pub async fn by_id(
    state: &AppState,
    account: Option<&Account>,
    id: i64,
) -> Result<DraftRow, AppError> {
    posting::check(account, Action::KeepDraft)?;
    let missing = || AppError::not_found(format!("You have no draft {id}."));
    let draft = state.store.draft_by_id(id).await?.ok_or_else(missing)?;
    // Someone else's draft reads as missing: a draft's existence is its author's business.
    posting::check(
        account,
        Action::OwnDraft {
            author: draft.author,
        },
    )
    .map_err(|_| missing())?;
    Ok(draft)
}

/// Every draft of `account`, the most recently saved first.
pub async fn list(state: &AppState, account: Option<&Account>) -> Result<Vec<DraftRow>, AppError> {
    posting::check(account, Action::KeepDraft)?;
    let account = account.ok_or(AppError::Unauthorized)?;
    Ok(state.store.drafts_of(account.brief.id).await?)
}

/// Discards one draft by id (its author alone); the place it belonged to.
pub async fn discard(
    state: &AppState,
    account: Option<&Account>,
    id: i64,
) -> Result<DraftPlace, AppError> {
    let draft = by_id(state, account, id).await?;
    state
        .store
        .delete_draft_at(draft.author, draft.place)
        .await?;
    Ok(draft.place)
}

/// After publishing at `place`: the draft has done its work. A failure here is logged, not
/// returned: the post is published, and a stale draft is a nuisance, not a loss.
pub async fn published(state: &AppState, account: Option<&Account>, place: DraftPlace) {
    let Some(account) = account else {
        return;
    };
    if let Err(err) = state.store.delete_draft_at(account.brief.id, place).await {
        tracing::warn!(error = %err, place = %place.key(), "a published draft was not deleted");
    }
}

/// Where a draft is written: the page that opens its form again.
pub fn form_url(place: DraftPlace) -> String {
    match place {
        DraftPlace::NewThread => "/new".into(),
        DraftPlace::Reply(thread) => format!("/thread/{thread}/reply"),
        DraftPlace::Edit(post) => format!("/posts/{post}/edit"),
    }
}

/// A reply draft's content.
pub fn reply_content(body: &str, reply_to: Option<PostId>) -> DraftContent {
    DraftContent {
        body: body.to_string(),
        reply_to,
        ..DraftContent::default()
    }
}
