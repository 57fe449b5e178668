//! The writing rules: starting threads, replying, editing, deleting, boosting and marking
//! answers. Each function checks permission (one place: `permissions::check`), the abuse limits,
//! and the input, in that order, then calls the store. Pages and the API share them.

use agora_store::{
    Account, AnswerMark, DraftPlace, NewReply, NewThread, PostEdit, PostFacts, PostId, SubtopicRow,
    TagId, TagInput, ThreadFacts, ThreadId, ThreadKind, Timestamp, WhoStarts, forbidden_char,
};

use crate::app::AppState;
use crate::client_ip::ClientIp;
use crate::error::AppError;
use crate::limits::{Limit, Limits};
use crate::paths;
use crate::services::accounts::FieldErrors;
use crate::services::archive::EXCERPT_CHARS;
use crate::services::drafts;
use crate::services::permissions::{self, Action};
use crate::services::read::post_url;
use crate::services::structure;
use crate::settings::TagCreation;

/// Lengths in characters (Unicode scalar values): the minimum counts what is left once the
/// ends are trimmed of white space, the maximum counts everything sent (as a form's `maxlength`
/// does), so the JSON API's schema can state both exactly.
pub const TITLE_CHARS: (usize, usize) = (8, 150);
pub const BODY_CHARS: (usize, usize) = (10, 60_000);
/// The longest reason an edit may give.
pub const EDIT_REASON_CHARS: usize = 200;
pub const MAX_TAGS: usize = 5;

/// What the compose form or the API sends to start a thread.
#[derive(Clone, Debug, Default)]
pub struct ThreadDraft {
    /// `area/subtopic`.
    pub subtopic: String,
    pub title: String,
    /// Tag slugs, separated by spaces or commas.
    pub tags: String,
    pub kind: String,
    pub body: String,
}

pub fn check(actor: Option<&Account>, action: Action<'_>) -> Result<(), AppError> {
    permissions::check(actor, action, Timestamp::now()).map_err(AppError::from)
}

/// A title: at least [`TITLE_CHARS`]`.0` characters once trimmed, at most [`TITLE_CHARS`]`.1`
/// as sent, no control characters.
pub fn check_title(title: &str, errors: &mut FieldErrors) {
    let n = title.chars().count();
    if title.trim().chars().count() < TITLE_CHARS.0 {
        errors.add(
            "title",
            format!(
                "Make the title at least {} characters: say what you are asking.",
                TITLE_CHARS.0
            ),
        );
    } else if n > TITLE_CHARS.1 {
        errors.add(
            "title",
            format!(
                "Keep the title to {} characters (it has {n}).",
                TITLE_CHARS.1
            ),
        );
    } else if let Some(c) = title.chars().find(|c| c.is_control()) {
        errors.add(
            "title",
            crate::services::accounts::forbidden_char_message(c),
        );
    }
}

/// A post's Markdown: no forbidden control characters, at least [`BODY_CHARS`]`.0` characters
/// once trimmed, at most [`BODY_CHARS`]`.1` as sent.
pub fn check_body(body: &str, errors: &mut FieldErrors) {
    if !errors.text("body", body) {
        return;
    }
    let n = body.chars().count();
    if body.trim().chars().count() < BODY_CHARS.0 {
        errors.add(
            "body",
            format!("Write at least {} characters.", BODY_CHARS.0),
        );
    } else if n > BODY_CHARS.1 {
        errors.add(
            "body",
            format!("Keep it under {} characters (it has {n}).", BODY_CHARS.1),
        );
    }
}

/// Splits a tags field into slugs (spaces or commas, lower-cased, no repeats).
pub fn parse_tags(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for tag in text.split([',', ' ', '\n', '\t']).map(str::trim) {
        let tag = tag.trim_start_matches('#').to_lowercase();
        if !tag.is_empty() && !out.contains(&tag) {
            out.push(tag);
        }
    }
    out
}

pub async fn resolve_tags(
    state: &AppState,
    text: &str,
    errors: &mut FieldErrors,
) -> Result<Vec<TagId>, AppError> {
    if !errors.text("tags", text) {
        return Ok(Vec::new());
    }
    let wanted = parse_tags(text);
    if wanted.is_empty() {
        errors.add("tags", "Add at least one tag (the tags page lists them).");
        return Ok(Vec::new());
    }
    if wanted.len() > MAX_TAGS {
        errors.add("tags", format!("Use at most {MAX_TAGS} tags."));
        return Ok(Vec::new());
    }
    let found = state.store.tag_ids(wanted.clone()).await?;
    let missing: Vec<&str> = wanted
        .iter()
        .filter(|w| !found.iter().any(|(slug, _)| slug == *w))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        errors.add(
            "tags",
            format!(
                "There is no tag {}. Pick from the tags page.",
                missing
                    .iter()
                    .map(|m| format!("“{m}”"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
    let mut ids: Vec<TagId> = found.into_iter().map(|(_, id)| id).collect();
    ids.sort();
    Ok(ids)
}

/// A new member's post may hold only a few links (spam is mostly links): a problem with the
/// body, shown at the field with everything typed kept.
fn check_links(state: &AppState, account: &Account, body_html: &str, errors: &mut FieldErrors) {
    let limit = state.site().settings.limits.new_account_links as usize;
    let day_ago = Timestamp::from_micros(Timestamp::now().micros() - 86_400_000_000);
    let new_member = permissions::limited(account) && account.created_at > day_ago;
    // The forum's own uploads are not links out (a pasted screenshot links to its full size).
    let links = body_html.matches("<a ").count();
    let uploads = body_html.matches(" href=\"/uploads/").count();
    if new_member && links.saturating_sub(uploads) > limit {
        errors.add(
            "body",
            format!(
                "New accounts can include at most {limit} links in a post for their first day."
            ),
        );
    }
}

/// The most people a new account (in its first day) may mention in one post.
pub const NEW_ACCOUNT_MENTIONS: usize = 5;

/// A new account may mention only a few people in a post (mass mentions are spam's way in).
fn check_mentions(account: &Account, body: &str, errors: &mut FieldErrors) {
    let day_ago = Timestamp::from_micros(Timestamp::now().micros() - 86_400_000_000);
    let new_member = permissions::limited(account) && account.created_at > day_ago;
    if new_member && body.contains('@') {
        let n = agora_markup::mentions(body).len();
        if n > NEW_ACCOUNT_MENTIONS {
            errors.add(
                "body",
                format!(
                    "New accounts can mention at most {NEW_ACCOUNT_MENTIONS} people in a post \
                     for their first day (this one mentions {n})."
                ),
            );
        }
    }
}

/// The abuse limits on writing: the rate per account and address, and an account's first day
/// (a few posts). Staff and moderators are trusted.
async fn check_posting_limits(
    state: &AppState,
    account: &Account,
    ip: ClientIp,
) -> Result<(), AppError> {
    let site = state.site();
    let limits = &site.settings.limits;
    if account.pending_approval {
        return Err(AppError::Forbidden(
            "Your account is waiting for a moderator's approval: you can post once it is \
             approved. You can read everything meanwhile."
                .into(),
        ));
    }
    if permissions::limited(account) {
        state
            .limits()
            .check(Limit::PostAccount, &account.brief.id.to_string())?;
        state.limits().check(Limit::PostIp, &Limits::ip_key(ip.0))?;
        let day_ago = Timestamp::from_micros(Timestamp::now().micros() - 86_400_000_000);
        if account.created_at > day_ago && limits.new_account_posts > 0 {
            let cap = i64::from(limits.new_account_posts);
            let written = state
                .store
                .posts_since(account.brief.id, day_ago, cap)
                .await?;
            if written >= cap {
                let n = limits.new_account_posts;
                return Err(AppError::Forbidden(format!(
                    "New accounts can write {n} post{} in their first day. Thank you for \
                     joining; please come back tomorrow.",
                    if n == 1 { "" } else { "s" }
                )));
            }
        }
        if site.settings.require_verified_email && !account.email_verified {
            return Err(AppError::Forbidden(
                "Confirm your email address first: the link is in the email we sent. You can \
                 send it again from your settings."
                    .into(),
            ));
        }
    }
    Ok(())
}

/// Whether `account` may create tags while writing (`settings.tag_creation`): never when only
/// administrators create them (in the admin pages); staff when staff may; when members may,
/// staff and members whose account is at least `tag_creation_min_days` old.
pub fn may_create_tags(state: &AppState, account: Option<&Account>) -> bool {
    let Some(account) = account else {
        return false;
    };
    let site = state.site();
    let settings = &site.settings;
    let staff = account.brief.role.is_staff();
    match settings.tag_creation {
        TagCreation::Admins => false,
        TagCreation::Staff => staff,
        TagCreation::Members => {
            let days = i64::from(settings.tag_creation_min_days);
            let since = Timestamp::now().micros() - days * 86_400_000_000;
            staff || account.created_at.micros() <= since
        }
    }
}

/// Who may create tags while writing, for the message that refuses a new one.
fn tag_creators(state: &AppState) -> String {
    let site = state.site();
    match site.settings.tag_creation {
        TagCreation::Admins => "administrators create tags, in the admin pages".into(),
        TagCreation::Staff => "staff can create new ones while writing".into(),
        TagCreation::Members => format!(
            "members can create new ones once their account is {} days old",
            site.settings.tag_creation_min_days
        ),
    }
}

/// A new thread's tags under its subtopic's rules: required or not, only the allowed ones
/// (when the subtopic lists any), and tags that do not exist yet created with the thread when
/// the settings let this account create them. Returns the existing tags' ids and the new tags.
async fn draft_tags(
    state: &AppState,
    account: Option<&Account>,
    subtopic: Option<&SubtopicRow>,
    text: &str,
    errors: &mut FieldErrors,
) -> Result<(Vec<TagId>, Vec<TagInput>), AppError> {
    if !errors.text("tags", text) {
        return Ok(Default::default());
    }
    let wanted = parse_tags(text);
    if wanted.is_empty() {
        if subtopic.is_none_or(|s| s.tags_required) {
            errors.add(
                "tags",
                "Add at least one tag: this subtopic needs one (the tags page lists them).",
            );
        }
        return Ok(Default::default());
    }
    if wanted.len() > MAX_TAGS {
        errors.add("tags", format!("Use at most {MAX_TAGS} tags."));
        return Ok(Default::default());
    }
    if let Some(subtopic) = subtopic {
        let allowed: Vec<String> = state
            .store
            .allowed_tags()
            .await?
            .into_iter()
            .filter(|(id, _)| *id == subtopic.id)
            .map(|(_, t)| t.slug)
            .collect();
        let refused: Vec<String> = wanted
            .iter()
            .filter(|w| !allowed.is_empty() && !allowed.contains(w))
            .map(|w| format!("“{w}”"))
            .collect();
        if !refused.is_empty() {
            errors.add(
                "tags",
                format!(
                    "{} {} not allowed in {}: use {}.",
                    refused.join(", "),
                    if refused.len() == 1 { "is" } else { "are" },
                    subtopic.name,
                    allowed.join(", ")
                ),
            );
            return Ok(Default::default());
        }
    }
    let found = state.store.tag_ids(wanted.clone()).await?;
    let missing: Vec<&String> = wanted
        .iter()
        .filter(|w| !found.iter().any(|(slug, _)| slug == *w))
        .collect();
    let mut new_tags = Vec::new();
    if !missing.is_empty() {
        if may_create_tags(state, account) {
            for slug in missing {
                let mut problem = FieldErrors::default();
                structure::check_slug("tags", slug, &mut problem);
                match problem.0.into_iter().next() {
                    Some((_, why)) => {
                        errors.add("tags", format!("“{slug}” cannot be a tag: {why}"))
                    }
                    None => new_tags.push(TagInput {
                        slug: slug.clone(),
                        name: slug.clone(),
                        description: String::new(),
                    }),
                }
            }
        } else {
            errors.add(
                "tags",
                format!(
                    "There is no tag {}. Use tags that exist (the tags page lists them); {}.",
                    structure::missing_tags(&wanted, &found),
                    tag_creators(state)
                ),
            );
        }
    }
    let mut ids: Vec<TagId> = found.into_iter().map(|(_, id)| id).collect();
    ids.sort();
    Ok((ids, new_tags))
}

/// A draft that passed every check.
struct CheckedDraft {
    subtopic: SubtopicRow,
    tags: Vec<TagId>,
    new_tags: Vec<TagInput>,
    kind: ThreadKind,
}

async fn draft_subtopic(
    state: &AppState,
    draft: &ThreadDraft,
) -> Result<Option<SubtopicRow>, AppError> {
    match draft.subtopic.split_once('/') {
        Some((area, sub)) if forbidden_char(&draft.subtopic).is_none() => {
            Ok(state.store.subtopic(area.trim(), sub.trim()).await?)
        }
        _ => Ok(None),
    }
}

/// Validates a draft: the subtopic, title, tags, kind and body (all problems at once).
async fn check_draft(
    state: &AppState,
    account: Option<&Account>,
    draft: &ThreadDraft,
) -> Result<Result<CheckedDraft, FieldErrors>, AppError> {
    let mut errors = FieldErrors::default();
    errors.text("subtopic", &draft.subtopic);
    let subtopic = draft_subtopic(state, draft).await?;
    if subtopic.is_none() && errors.get("subtopic").is_none() {
        errors.add("subtopic", "Choose the subtopic your thread belongs in.");
    }
    errors.text("kind", &draft.kind);
    check_title(&draft.title, &mut errors);
    let (tags, new_tags) =
        draft_tags(state, account, subtopic.as_ref(), &draft.tags, &mut errors).await?;
    let kind = match draft.kind.trim() {
        "" | "question" => ThreadKind::Question,
        "discussion" => ThreadKind::Discussion,
        _ => {
            errors.add("kind", "Choose question or discussion.");
            ThreadKind::Question
        }
    };
    check_body(&draft.body, &mut errors);
    Ok(match subtopic {
        Some(subtopic) if errors.is_empty() => Ok(CheckedDraft {
            subtopic,
            tags,
            new_tags,
            kind,
        }),
        _ => Err(errors),
    })
}

/// Checks a draft without saving it (the preview step).
pub async fn preview_thread(
    state: &AppState,
    account: Option<&Account>,
    draft: &ThreadDraft,
) -> Result<FieldErrors, AppError> {
    Ok(check_draft(state, account, draft)
        .await?
        .err()
        .unwrap_or_default())
}

/// Starts a thread. Returns its id, first post and URL, or what to fix. An archived
/// subtopic, or a staff-only one for a member, is refused (403) before the rest is checked.
pub async fn start_thread(
    state: &AppState,
    account: Option<&Account>,
    ip: ClientIp,
    draft: &ThreadDraft,
) -> Result<Result<(ThreadId, PostId, String), FieldErrors>, AppError> {
    check(account, Action::StartThread)?;
    let account = account.ok_or(AppError::Unauthorized)?;
    if let Some(subtopic) = draft_subtopic(state, draft).await? {
        check(Some(account), start_in(&subtopic))?;
    }
    check_posting_limits(state, account, ip).await?;
    let draft_ok = match check_draft(state, Some(account), draft).await? {
        Ok(ok) => ok,
        Err(errors) => return Ok(Err(errors)),
    };
    let body = draft.body.trim_end().to_string();
    let body_html = crate::services::render::post_html(state, &body).await?;
    let mut errors = FieldErrors::default();
    check_links(state, account, &body_html, &mut errors);
    check_mentions(account, &body, &mut errors);
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let title = draft.title.trim().to_string();
    let new = NewThread {
        subtopic: draft_ok.subtopic.id,
        title: title.clone(),
        kind: draft_ok.kind,
        tags: draft_ok.tags,
        author: account.brief.id,
        excerpt: agora_markup::excerpt(&body, EXCERPT_CHARS),
        body_md: body,
        body_html,
    };
    let (thread, post) = if draft_ok.new_tags.is_empty() {
        state.store.create_thread(new).await?
    } else {
        let audit = agora_store::Audit {
            actor: account.brief.id,
            action: "tag.create",
            thread: None,
            post: None,
            target_user: None,
            details: format!(
                "{}, while writing a thread",
                draft_ok
                    .new_tags
                    .iter()
                    .map(|t| t.slug.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        state
            .store
            .create_thread_with_tags(new, draft_ok.new_tags, Some(audit))
            .await?
    };
    // The draft of it went in the same transaction (`forum::create_thread`).
    Ok(Ok((
        thread,
        post,
        paths::thread(thread, &agora_store::slugify(&title)),
    )))
}

/// The permission to start a thread in `subtopic`.
pub fn start_in(subtopic: &SubtopicRow) -> Action<'static> {
    Action::StartThreadIn {
        staff_only: subtopic.who_starts == WhoStarts::Staff,
        archived: subtopic.archived,
    }
}

/// What a signed-in reader's parts of a thread page depend on (their boosts of `posts`, their
/// bookmarks, their reply draft when `may_reply`, their watches), read together. Bookmarks and
/// drafts are their own business: the permission rules say so first.
pub async fn thread_reader(
    state: &AppState,
    account: &Account,
    thread: &ThreadFacts,
    posts: Vec<PostId>,
    may_reply: bool,
) -> Result<agora_store::ThreadReader, AppError> {
    let me = Some(account);
    check(
        me,
        Action::OwnBookmarks {
            owner: account.brief.id,
        },
    )?;
    check(me, Action::KeepDraft)?;
    Ok(state
        .store
        .thread_reader(
            account.brief.id,
            thread.id,
            thread.subtopic,
            posts,
            may_reply,
        )
        .await?)
}

pub async fn thread_facts(state: &AppState, thread: ThreadId) -> Result<ThreadFacts, AppError> {
    state
        .store
        .thread_facts(thread)
        .await?
        .ok_or_else(|| AppError::not_found(format!("There is no thread {thread}.")))
}

pub async fn post_facts(state: &AppState, post: PostId) -> Result<PostFacts, AppError> {
    state
        .store
        .post_facts(post)
        .await?
        .ok_or_else(|| AppError::not_found(format!("There is no post {post}.")))
}

/// Replies to a thread, answering one of its posts when `reply_to` names one. Returns the new
/// post and its URL, or what to fix.
pub async fn reply(
    state: &AppState,
    account: Option<&Account>,
    ip: ClientIp,
    thread: &ThreadFacts,
    body: &str,
    reply_to: Option<PostId>,
) -> Result<Result<(PostId, String), FieldErrors>, AppError> {
    check(account, Action::Reply(thread))?;
    let account = account.ok_or(AppError::Unauthorized)?;
    check_posting_limits(state, account, ip).await?;
    let mut errors = FieldErrors::default();
    check_body(body, &mut errors);
    if let Some(answered) = reply_to {
        check_reply_to(state, thread, answered, &mut errors).await?;
    }
    let body = body.trim_end().to_string();
    let body_html = crate::services::render::post_html(state, &body).await?;
    check_links(state, account, &body_html, &mut errors);
    check_mentions(account, &body, &mut errors);
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let (post, position) = state
        .store
        .create_reply(NewReply {
            thread: thread.id,
            author: account.brief.id,
            author_is_staff: account.brief.role.is_staff(),
            body_md: body,
            body_html,
            reply_to,
        })
        .await?;
    // The draft of it went in the same transaction (`forum::create_reply`).
    Ok(Ok((
        post,
        post_url(thread.id, &thread.slug, position, post),
    )))
}

/// Why a reply may not answer a post.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyToProblem {
    /// No such post.
    Missing,
    /// The post is in another thread.
    OtherThread,
    /// The post was deleted or hidden.
    Removed,
}

impl ReplyToProblem {
    pub fn message(self, answered: PostId) -> String {
        match self {
            Self::Missing => format!("There is no post {answered}."),
            Self::OtherThread => {
                format!("Post {answered} is in another thread: reply to a post of this one.")
            }
            Self::Removed => format!("Post {answered} was removed: reply to the thread instead."),
        }
    }

    /// The API's answer: a missing post is 404; one that exists but cannot be answered from
    /// this thread is a conflict with its state (409), not a malformed request.
    pub fn into_error(self, answered: PostId) -> AppError {
        match self {
            Self::Missing => AppError::not_found(self.message(answered)),
            Self::OtherThread | Self::Removed => AppError::Conflict {
                param: "reply_to".into(),
                message: self.message(answered),
            },
        }
    }
}

/// A reply may answer a post of its own thread that readers can see: not one in another
/// thread, nor a deleted or hidden one.
pub async fn reply_to_problem(
    state: &AppState,
    thread: &ThreadFacts,
    answered: PostId,
) -> Result<Option<ReplyToProblem>, AppError> {
    Ok(match state.store.post_facts(answered).await? {
        Some(post) if post.thread.id != thread.id => Some(ReplyToProblem::OtherThread),
        Some(post) if post.deleted || post.hidden => Some(ReplyToProblem::Removed),
        Some(_) => None,
        None => Some(ReplyToProblem::Missing),
    })
}

/// [`reply_to_problem`] as a field error of a form.
pub async fn check_reply_to(
    state: &AppState,
    thread: &ThreadFacts,
    answered: PostId,
    errors: &mut FieldErrors,
) -> Result<(), AppError> {
    if let Some(problem) = reply_to_problem(state, thread, answered).await? {
        errors.add("reply_to", problem.message(answered));
    }
    Ok(())
}

/// The post a reply form answers (`?to=`), when it is one readers can see in this thread.
pub async fn answerable(
    state: &AppState,
    thread: &ThreadFacts,
    post: PostId,
) -> Result<Option<PostFacts>, AppError> {
    Ok(state
        .store
        .post_facts(post)
        .await?
        .filter(|p| p.thread.id == thread.id && !p.deleted && !p.hidden))
}

/// The Markdown that quotes a post, for the reply form.
pub fn quote(post: &PostFacts) -> String {
    let quoted: String = post
        .body_md
        .lines()
        .map(|line| format!("> {line}\n"))
        .collect();
    format!("**@{}** wrote:\n\n{quoted}\n", post.author_name)
}

/// What an edit form or the API sends.
#[derive(Clone, Debug, Default)]
pub struct EditDraft {
    pub body: String,
    pub reason: String,
    /// For the opening post: the thread's new title and tags (None leaves them).
    pub title: Option<String>,
    pub tags: Option<String>,
}

/// Edits a post (a new revision with the reason), and for an opening post its title and tags.
pub async fn edit(
    state: &AppState,
    account: Option<&Account>,
    post: &PostFacts,
    draft: &EditDraft,
) -> Result<Result<String, FieldErrors>, AppError> {
    check(account, Action::EditPost(post))?;
    let account = account.ok_or(AppError::Unauthorized)?;
    if permissions::limited(account) {
        state
            .limits()
            .check(Limit::PostAccount, &account.brief.id.to_string())?;
    }
    let mut errors = FieldErrors::default();
    check_body(&draft.body, &mut errors);
    if draft.reason.chars().count() > EDIT_REASON_CHARS {
        errors.add(
            "reason",
            format!("Keep the reason to {EDIT_REASON_CHARS} characters."),
        );
    }
    errors.text("reason", &draft.reason);
    let mut retitle = None;
    // A title or tags sent with the edit of a reply are checked like any input, then left: only
    // an opening post carries the thread's.
    if draft.title.is_some() || draft.tags.is_some() {
        let title = draft
            .title
            .clone()
            .unwrap_or_else(|| post.thread.title.clone());
        check_title(&title, &mut errors);
        let tags = match &draft.tags {
            Some(text) => resolve_tags(state, text, &mut errors).await?,
            None => post.thread.tags.clone(),
        };
        let title = title.trim().to_string();
        if post.position == 0 && (title != post.thread.title || tags != post.thread.tags) {
            retitle = Some((post.thread.clone(), title, tags));
        }
    }
    let body = draft.body.trim_end().to_string();
    let body_html = crate::services::render::post_html(state, &body).await?;
    // Links added by an edit count like links in a new post.
    check_links(state, account, &body_html, &mut errors);
    check_mentions(account, &body, &mut errors);
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let slug = retitle
        .as_ref()
        .map_or(post.thread.slug.clone(), |(_, title, _)| {
            agora_store::slugify(title)
        });
    let reason = draft.reason.trim();
    state
        .store
        .edit_post(
            PostEdit {
                post: post.id,
                editor: account.brief.id,
                excerpt: (post.position == 0).then(|| agora_markup::excerpt(&body, EXCERPT_CHARS)),
                body_md: body,
                body_html,
                reason: (!reason.is_empty()).then(|| reason.to_string()),
            },
            retitle,
            moderator_audit(account, post, "post.edit", reason),
        )
        .await?;
    drafts::published(state, Some(account), DraftPlace::Edit(post.id)).await;
    Ok(Ok(post_url(post.thread.id, &slug, post.position, post.id)))
}

/// An audit entry when a moderator changes someone else's post (authors' own changes are in
/// the revision history, not the audit log).
fn moderator_audit(
    actor: &Account,
    post: &PostFacts,
    action: &'static str,
    details: &str,
) -> Option<agora_store::Audit> {
    (post.author != actor.brief.id).then(|| agora_store::Audit {
        actor: actor.brief.id,
        action,
        thread: Some(post.thread.id),
        post: Some(post.id),
        target_user: Some(post.author),
        details: details.to_string(),
    })
}

/// What deleting a post would take with it, for the page that asks first: the post alone, or
/// for an opening post the whole thread with its replies. Asks the same permission as deleting.
pub async fn deletion(
    state: &AppState,
    account: Option<&Account>,
    post: &PostFacts,
) -> Result<crate::views::DeletionView, AppError> {
    check(account, Action::DeletePost(post))?;
    let thread = crate::services::read::thread_row(state, post.thread.id).await?;
    let opening = post.position == 0;
    Ok(crate::views::DeletionView {
        post_id: post.id.0,
        post_url: post_url(post.thread.id, &post.thread.slug, post.position, post.id),
        action: paths::delete_post(post.id),
        thread_title: post.thread.title.clone(),
        thread_url: paths::thread(post.thread.id, &post.thread.slug),
        opening,
        replies: crate::views::CountView::new(if opening {
            thread.summary.reply_count
        } else {
            0
        }),
        excerpt: agora_markup::excerpt(&post.body_md, EXCERPT_CHARS),
    })
}

/// Deletes a post (soft). Returns where to go next: the thread, or the home page when the
/// thread went with its opening post.
pub async fn delete(
    state: &AppState,
    account: Option<&Account>,
    post: PostFacts,
) -> Result<String, AppError> {
    check(account, Action::DeletePost(&post))?;
    let account = account.ok_or(AppError::Unauthorized)?;
    let next = if post.position == 0 {
        paths::home()
    } else {
        paths::thread(post.thread.id, &post.thread.slug)
    };
    let audit = moderator_audit(account, &post, "post.delete", "");
    state
        .store
        .delete_post(post, account.brief.id, audit)
        .await?;
    Ok(next)
}

/// Boosts or un-boosts; returns (boosted now, the post's boosts).
pub async fn boost(
    state: &AppState,
    account: Option<&Account>,
    post: PostFacts,
) -> Result<(bool, i64), AppError> {
    check(account, Action::Boost(&post))?;
    let account = account.ok_or(AppError::Unauthorized)?;
    if permissions::limited(account) {
        state
            .limits()
            .check(Limit::BoostAccount, &account.brief.id.to_string())?;
    }
    Ok(state.store.toggle_boost(post, account.brief.id).await?)
}

/// Marks (or, with `on` false, unmarks) a reply as accepted or staff-recommended.
pub async fn mark_answer(
    state: &AppState,
    account: Option<&Account>,
    post: &PostFacts,
    mark: AnswerMark,
    on: bool,
) -> Result<(), AppError> {
    let action = match mark {
        AnswerMark::Accepted => Action::Accept(post),
        AnswerMark::Recommended => Action::Recommend(post),
    };
    check(account, action)?;
    let account = account.ok_or(AppError::Unauthorized)?;
    let current = match mark {
        AnswerMark::Accepted => post.thread.accepted_post,
        AnswerMark::Recommended => post.thread.recommended_post,
    };
    let target = if on {
        Some(post.id)
    } else if current == Some(post.id) {
        None
    } else {
        return Ok(());
    };
    let audit = (mark == AnswerMark::Recommended).then(|| agora_store::Audit {
        actor: account.brief.id,
        action: if on {
            "answer.recommend"
        } else {
            "answer.unrecommend"
        },
        thread: Some(post.thread.id),
        post: Some(post.id),
        target_user: None,
        details: String::new(),
    });
    state
        .store
        .set_answer(post.thread.id, mark, target, account.brief.id, audit)
        .await?;
    Ok(())
}
