//! Writing pages: compose a thread, reply, quote, edit, delete, boost, accept and recommend.
//! Thin handlers: extract, call the posting service (which checks permission, limits and
//! input), then redirect (303) or show the form again with everything typed still in it.

use std::collections::HashSet;

use crate::web::form::Form;
use agora_store::{AnswerMark, PostId, PostRow, ThreadRow, Timestamp};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::app::AppState;
use crate::auth::Viewer;
use crate::client_ip::ClientIp;
use crate::error::AppError;
use crate::paths;
use crate::services::accounts::FieldErrors;
use crate::services::permissions::{Action, allowed};
use crate::services::posting::{self, EditDraft, ThreadDraft};
use crate::services::read;
use crate::views::ThreadPageView;
use crate::web::{
    Layout, back_to_post, parse_post_id, parse_thread_id, private_page, render, see_other,
};

/// What a reader may do on a thread page, decided by the permissions module.
#[derive(Default)]
pub struct ThreadActions {
    pub signed_in: bool,
    pub can_reply: bool,
    /// Why not, when signed in and refused (locked, suspended).
    pub reply_refusal: Option<String>,
    pub moderate: bool,
    pub locked: bool,
    pub pin_scope: String,
    pub subtopics: Vec<(String, String)>,
    pub current_subtopic: String,
    pub tags_text: String,
    pub posts: Vec<PostActions>,
}

impl ThreadActions {
    /// The actions for the post at `index` on the page.
    pub fn post(&self, index: usize) -> PostActions {
        self.posts.get(index).cloned().unwrap_or_default()
    }
}

#[derive(Clone, Default)]
pub struct PostActions {
    pub quote: bool,
    pub edit: bool,
    pub delete: bool,
    pub boost: bool,
    pub boosted: bool,
    pub accept: bool,
    pub unaccept: bool,
    pub recommend: bool,
    pub unrecommend: bool,
    pub flag: bool,
    pub hide: bool,
    pub unhide: bool,
}

fn facts_of_thread(t: &ThreadRow) -> agora_store::ThreadFacts {
    agora_store::ThreadFacts {
        id: t.summary.id,
        slug: t.summary.slug.clone(),
        title: t.summary.title.clone(),
        kind: t.summary.kind,
        author: t.summary.author.id,
        subtopic: t.subtopic_id,
        locked: t.summary.locked,
        removed: t.removed,
        pin_scope: t.summary.pin_scope,
        accepted_post: t.accepted_post_id,
        recommended_post: t.recommended_post_id,
        tags: Vec::new(),
    }
}

/// Works out every button a signed-in reader sees; anonymous readers get none (the cached
/// page offers "sign in to reply").
pub async fn thread_actions(
    state: &AppState,
    viewer: &Viewer,
    view: &ThreadPageView,
    thread: &ThreadRow,
    posts: &[PostRow],
) -> Result<ThreadActions, AppError> {
    let Some(account) = viewer.account.as_deref() else {
        return Ok(ThreadActions::default());
    };
    let now = Timestamp::now();
    let me = Some(account);
    let facts = facts_of_thread(thread);
    let reply = posting::check(me, Action::Reply(&facts));
    let boosted: HashSet<PostId> =
        posting::boosted_by(state, account, posts.iter().map(|p| p.id).collect()).await?;
    // Whether others replied decides if an author may delete their opening post; on a
    // one-page thread it is read off the page, beyond that somebody surely has.
    let others_replied = view.total_pages > 1
        || posts
            .iter()
            .any(|p| p.position > 0 && p.author.id != thread.summary.author.id && !p.deleted);
    let post_actions = posts
        .iter()
        .map(|p| {
            let pf = agora_store::PostFacts {
                id: p.id,
                position: p.position,
                author: p.author.id,
                author_name: p.author.username.clone(),
                body_md: String::new(),
                deleted: p.deleted,
                hidden: p.hidden,
                thread: facts.clone(),
                others_replied,
            };
            let accepted = thread.accepted_post_id == Some(p.id);
            let recommended = thread.recommended_post_id == Some(p.id);
            let can_accept = allowed(me, Action::Accept(&pf), now);
            let can_recommend = allowed(me, Action::Recommend(&pf), now);
            let hide = allowed(me, Action::HidePost(&pf), now);
            PostActions {
                quote: reply.is_ok() && !p.deleted && !p.hidden,
                edit: allowed(me, Action::EditPost(&pf), now),
                delete: allowed(me, Action::DeletePost(&pf), now),
                boost: allowed(me, Action::Boost(&pf), now),
                boosted: boosted.contains(&p.id),
                accept: can_accept && !accepted,
                unaccept: can_accept && accepted,
                recommend: can_recommend && !recommended,
                unrecommend: can_recommend && recommended,
                flag: allowed(me, Action::Flag(&pf), now),
                hide: hide && !p.hidden && !p.deleted,
                unhide: hide && p.hidden,
            }
        })
        .collect();
    let moderate = allowed(me, Action::Moderate(&facts), now);
    let subtopics = if moderate {
        read::subtopic_choices(state, None).await?
    } else {
        Vec::new()
    };
    Ok(ThreadActions {
        signed_in: true,
        can_reply: reply.is_ok(),
        reply_refusal: reply.err().map(|e| e.public_message()),
        moderate,
        locked: thread.summary.locked,
        pin_scope: thread
            .summary
            .pin_scope
            .map_or("none", |p| p.as_str())
            .to_string(),
        current_subtopic: format!(
            "{}/{}",
            view.thread.subtopic.area, view.thread.subtopic.slug
        ),
        subtopics,
        tags_text: view
            .thread
            .tags
            .iter()
            .map(|t| t.slug.clone())
            .collect::<Vec<_>>()
            .join(" "),
        posts: post_actions,
    })
}

/// A page that needs an account sends anonymous readers to sign in first.
fn sign_in_first(next: &str) -> Response {
    Redirect::to(&format!("/signin?next={}", paths::encode_query(next))).into_response()
}

// ---------------------------------------------------------------- compose

#[derive(Debug, Default, Deserialize)]
pub struct ComposeForm {
    #[serde(default)]
    pub subtopic: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub tags: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub body: String,
    /// Present when the "Preview" button was pressed.
    pub preview: Option<String>,
}

#[derive(Template)]
#[template(path = "compose.html")]
struct ComposeTemplate {
    layout: Layout,
    form: ComposeForm,
    errors: FieldErrors,
    subtopics: Vec<(String, String)>,
    tags: Vec<(String, String)>,
    preview_html: Option<String>,
    /// Existing threads like the one being written (shown at the preview step).
    similar: Vec<crate::views::ThreadSummaryView>,
}

async fn compose_page(
    state: &AppState,
    viewer: &Viewer,
    form: ComposeForm,
    errors: FieldErrors,
    preview_html: Option<String>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let subtopics = read::subtopic_choices(state, viewer.account.as_deref()).await?;
    let tags = read::tags(state)
        .await?
        .into_iter()
        .map(|t| (t.slug, t.name))
        .collect();
    let mut layout = Layout::new(state, viewer, "Start a thread", "Ask a question", "/new");
    layout.noindex = true;
    // Without JavaScript, the preview step is where similar threads are suggested.
    let similar = if preview_html.is_some() && !form.title.trim().is_empty() {
        crate::services::search::similar_views(state, &form.title, &form.body, None).await
    } else {
        Vec::new()
    };
    let html = render(&ComposeTemplate {
        layout,
        form,
        errors,
        subtopics,
        tags,
        preview_html,
        similar,
    })?;
    Ok(private_page(status, html))
}

/// `/new?subtopic=area/slug` or `/new?tag=slug`: the form with that subtopic or tag chosen.
#[derive(Debug, Default, Deserialize)]
pub struct ComposeQuery {
    pub subtopic: Option<String>,
    pub tag: Option<String>,
}

pub async fn compose(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<ComposeQuery>,
    uri: Uri,
) -> Result<Response, AppError> {
    if !viewer.signed_in() {
        // Back to this form after signing in, with what it had chosen.
        let here = uri.path_and_query().map_or("/new", |p| p.as_str());
        return Ok(sign_in_first(here));
    }
    posting::check(viewer.account.as_deref(), Action::StartThread)?;
    let form = ComposeForm {
        subtopic: query.subtopic.unwrap_or_default(),
        tags: query.tag.unwrap_or_default(),
        kind: "question".into(),
        ..ComposeForm::default()
    };
    compose_page(
        &state,
        &viewer,
        form,
        FieldErrors::default(),
        None,
        StatusCode::OK,
    )
    .await
}

pub async fn compose_submit(
    State(state): State<AppState>,
    viewer: Viewer,
    ip: ClientIp,
    Form(form): Form<ComposeForm>,
) -> Result<Response, AppError> {
    let account = viewer.account.as_deref();
    posting::check(account, Action::StartThread)?;
    let draft = ThreadDraft {
        subtopic: form.subtopic.clone(),
        title: form.title.clone(),
        tags: form.tags.clone(),
        kind: form.kind.clone(),
        body: form.body.clone(),
    };
    if form.preview.is_some() {
        let errors = posting::preview_thread(&state, account, &draft).await?;
        let html = agora_markup::render(&form.body);
        return compose_page(&state, &viewer, form, errors, Some(html), StatusCode::OK).await;
    }
    match posting::start_thread(&state, account, ip, &draft).await? {
        Ok((_, _, url)) => Ok(see_other(&url)),
        Err(errors) => {
            compose_page(&state, &viewer, form, errors, None, StatusCode::BAD_REQUEST).await
        }
    }
}

// ---------------------------------------------------------------- reply

#[derive(Debug, Default, Deserialize)]
pub struct ReplyForm {
    #[serde(default)]
    pub body: String,
    pub preview: Option<String>,
    /// The post this reply answers (a post id; empty for a reply to the thread).
    pub reply_to: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ReplyQuery {
    pub quote: Option<String>,
    /// Answer this post: "In reply to @name" (the thread page's Reply button without scripts).
    pub to: Option<String>,
}

#[derive(Template)]
#[template(path = "reply.html")]
struct ReplyTemplate {
    layout: Layout,
    thread_title: String,
    thread_url: String,
    action: String,
    body: String,
    errors: FieldErrors,
    preview_html: Option<String>,
    /// The post this reply answers.
    answering: Option<crate::views::ReplyToView>,
}

/// The `reply_to` field as sent: empty is none; anything else must be a post id.
fn reply_to_field(value: Option<&str>) -> Result<Option<PostId>, AppError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .map(|id| Some(PostId(id)))
            .ok_or_else(|| AppError::bad_param("reply_to", "must be a post id")),
    }
}

/// What a reply form says it answers, when the post is one readers see in this thread.
async fn answering(
    state: &AppState,
    thread: &agora_store::ThreadFacts,
    post: Option<PostId>,
) -> Result<Option<crate::views::ReplyToView>, AppError> {
    let Some(post) = post else {
        return Ok(None);
    };
    Ok(posting::answerable(state, thread, post)
        .await?
        .map(|p| crate::views::ReplyToView {
            post_id: p.id.0,
            url: back_to_post(&p),
            username: p.author_name,
        }))
}

// One argument per part of the page.
#[allow(clippy::too_many_arguments)]
async fn reply_page(
    state: &AppState,
    viewer: &Viewer,
    thread: &agora_store::ThreadFacts,
    body: String,
    errors: FieldErrors,
    preview_html: Option<String>,
    answering: Option<crate::views::ReplyToView>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let url = paths::thread(thread.id, &thread.slug);
    let mut layout = Layout::new(
        state,
        viewer,
        &format!("Reply · {}", thread.title),
        &thread.title,
        &format!("/thread/{}/reply", thread.id),
    )
    .crumb(&thread.title, url.clone());
    layout.noindex = true;
    let html = render(&ReplyTemplate {
        layout,
        thread_title: thread.title.clone(),
        thread_url: url,
        action: format!("/thread/{}/reply", thread.id),
        body,
        errors,
        preview_html,
        answering,
    })?;
    Ok(private_page(status, html))
}

pub async fn reply_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(query): Query<ReplyQuery>,
) -> Result<Response, AppError> {
    let id = parse_thread_id(&id)?;
    if !viewer.signed_in() {
        return Ok(sign_in_first(&format!("/thread/{id}/reply")));
    }
    let thread = posting::thread_facts(&state, id).await?;
    posting::check(viewer.account.as_deref(), Action::Reply(&thread))?;
    let mut body = String::new();
    let mut to = query.to.as_deref().map(parse_post_id).transpose()?;
    if let Some(quote) = query.quote.as_deref() {
        let post = posting::post_facts(&state, parse_post_id(quote)?).await?;
        if post.thread.id == id && !post.deleted && !post.hidden {
            body = posting::quote(&post);
            // A quote answers the post it quotes.
            to = to.or(Some(post.id));
        }
    }
    let answering = answering(&state, &thread, to).await?;
    reply_page(
        &state,
        &viewer,
        &thread,
        body,
        FieldErrors::default(),
        None,
        answering,
        StatusCode::OK,
    )
    .await
}

pub async fn reply_submit(
    State(state): State<AppState>,
    viewer: Viewer,
    ip: ClientIp,
    Path(id): Path<String>,
    Form(form): Form<ReplyForm>,
) -> Result<Response, AppError> {
    let id = parse_thread_id(&id)?;
    let thread = posting::thread_facts(&state, id).await?;
    let account = viewer.account.as_deref();
    posting::check(account, Action::Reply(&thread))?;
    let reply_to = reply_to_field(form.reply_to.as_deref())?;
    if form.preview.is_some() {
        let html = agora_markup::render(&form.body);
        let answering = answering(&state, &thread, reply_to).await?;
        return reply_page(
            &state,
            &viewer,
            &thread,
            form.body,
            FieldErrors::default(),
            Some(html),
            answering,
            StatusCode::OK,
        )
        .await;
    }
    match posting::reply(&state, account, ip, &thread, &form.body, reply_to).await? {
        Ok((_, url)) => Ok(see_other(&url)),
        Err(errors) => {
            let answering = answering(&state, &thread, reply_to).await?;
            reply_page(
                &state,
                &viewer,
                &thread,
                form.body,
                errors,
                None,
                answering,
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    }
}

// ---------------------------------------------------------------- edit and delete

#[derive(Debug, Default, Deserialize)]
pub struct EditForm {
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub reason: String,
    pub title: Option<String>,
    pub tags: Option<String>,
}

#[derive(Template)]
#[template(path = "edit.html")]
struct EditTemplate {
    layout: Layout,
    action: String,
    thread_url: String,
    opening: bool,
    form: EditForm,
    errors: FieldErrors,
}

async fn edit_page(
    state: &AppState,
    viewer: &Viewer,
    post: &agora_store::PostFacts,
    form: EditForm,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let url = paths::thread(post.thread.id, &post.thread.slug);
    let mut layout = Layout::new(
        state,
        viewer,
        &format!("Edit · {}", post.thread.title),
        &post.thread.title,
        &format!("/posts/{}/edit", post.id),
    )
    .crumb(&post.thread.title, url.clone());
    layout.noindex = true;
    let html = render(&EditTemplate {
        layout,
        action: format!("/posts/{}/edit", post.id),
        thread_url: url,
        opening: post.position == 0,
        form,
        errors,
    })?;
    Ok(private_page(status, html))
}

pub async fn edit_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = parse_post_id(&id)?;
    if !viewer.signed_in() {
        return Ok(sign_in_first(&format!("/posts/{id}/edit")));
    }
    let post = posting::post_facts(&state, id).await?;
    posting::check(viewer.account.as_deref(), Action::EditPost(&post))?;
    let tag_text = read::tag_slugs(&state, &post.thread.tags).await?;
    let form = EditForm {
        body: post.body_md.clone(),
        reason: String::new(),
        title: (post.position == 0).then(|| post.thread.title.clone()),
        tags: (post.position == 0).then_some(tag_text),
    };
    edit_page(
        &state,
        &viewer,
        &post,
        form,
        FieldErrors::default(),
        StatusCode::OK,
    )
    .await
}

pub async fn edit_submit(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<EditForm>,
) -> Result<Response, AppError> {
    let id = parse_post_id(&id)?;
    let post = posting::post_facts(&state, id).await?;
    let draft = EditDraft {
        body: form.body.clone(),
        reason: form.reason.clone(),
        title: form.title.clone(),
        tags: form.tags.clone(),
    };
    match posting::edit(&state, viewer.account.as_deref(), &post, &draft).await? {
        Ok(url) => Ok(see_other(&url)),
        Err(errors) => {
            edit_page(
                &state,
                &viewer,
                &post,
                form,
                errors,
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct DeleteForm {
    /// "yes" from the confirmation page (or the thread page's script, once the reader said
    /// yes): anything else deletes nothing.
    pub confirm: Option<String>,
}

/// Deletes a post that the reader confirmed deleting; an unconfirmed request is sent to the
/// page that asks (after the permission check, so a refusal still reads as one).
pub async fn delete(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<DeleteForm>,
) -> Result<Response, AppError> {
    let post = posting::post_facts(&state, parse_post_id(&id)?).await?;
    if form.confirm.as_deref() != Some("yes") {
        posting::check(viewer.account.as_deref(), Action::DeletePost(&post))?;
        return Ok(see_other(&paths::delete_post(post.id)));
    }
    let next = posting::delete(&state, viewer.account.as_deref(), post).await?;
    Ok(see_other(&next))
}

// ---------------------------------------------------------------- boosts and answers

pub async fn boost(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let post = posting::post_facts(&state, parse_post_id(&id)?).await?;
    let back = back_to_post(&post);
    posting::boost(&state, viewer.account.as_deref(), post).await?;
    Ok(see_other(&back))
}

async fn answer(
    state: AppState,
    viewer: Viewer,
    id: String,
    mark: AnswerMark,
    on: bool,
) -> Result<Response, AppError> {
    let post = posting::post_facts(&state, parse_post_id(&id)?).await?;
    posting::mark_answer(&state, viewer.account.as_deref(), &post, mark, on).await?;
    Ok(see_other(&back_to_post(&post)))
}

pub async fn accept(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    answer(state, viewer, id, AnswerMark::Accepted, true).await
}

pub async fn unaccept(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    answer(state, viewer, id, AnswerMark::Accepted, false).await
}

pub async fn recommend(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    answer(state, viewer, id, AnswerMark::Recommended, true).await
}

pub async fn unrecommend(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    answer(state, viewer, id, AnswerMark::Recommended, false).await
}
