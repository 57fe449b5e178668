//! Writing pages: compose a thread, reply, quote, edit, delete, boost, accept and recommend.
//! Thin handlers: extract, call the posting service (which checks permission, limits and
//! input), then redirect (303) or show the form again with everything typed still in it.

use std::collections::HashSet;

use crate::web::accounts::sign_in_to_keep;
use crate::web::form::{Form, FormSource, WritingForm};
use agora_store::{AnswerMark, DraftContent, DraftPlace, PostId, PostRow, ThreadRow, Timestamp};
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
use crate::services::drafts;
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
    /// The reader's draft of a reply here, back in the reply box.
    pub reply_draft: Option<crate::views::DraftView>,
    /// The post that draft answers.
    pub reply_draft_to: Option<crate::views::ReplyToView>,
    /// The reader's level for this thread (chosen, or what their settings give it).
    pub watch_level: &'static str,
    /// The reader's bookmark control for the whole thread.
    pub thread_bookmark: Option<crate::views::BookmarkControl>,
}

impl ThreadActions {
    /// The reply box's file field has no refusal to show (a refused reply comes back on the
    /// reply page).
    pub fn no_error(&self) -> Option<&str> {
        None
    }

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
    /// The reader's bookmark control for this post (not on a deleted or hidden one).
    pub bookmark: Option<crate::views::BookmarkControl>,
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
    // Their boosts, bookmarks, reply draft and watches, read together.
    let mut reader = posting::thread_reader(
        state,
        account,
        &facts,
        posts.iter().map(|p| p.id).collect(),
        reply.is_ok(),
    )
    .await?;
    let own_draft = reader.reply_draft.take();
    let boosted: HashSet<PostId> = reader.boosted.iter().copied().collect();
    let bookmarks = &reader.bookmarks;
    let bookmark_of = |post: Option<PostId>| {
        bookmarks
            .iter()
            .find(|b| b.post == post)
            .map(|b| crate::views::BookmarkView::new(b, now))
    };
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
                reply_to: None,
                hidden_reason: None,
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
                bookmark: (!p.deleted && !p.hidden).then(|| {
                    crate::views::BookmarkControl::new(
                        format!("p{}", p.id.0),
                        facts.id.0,
                        Some(p.id.0),
                        read::post_url(facts.id, &facts.slug, p.position, p.id),
                        bookmark_of(Some(p.id)),
                    )
                }),
            }
        })
        .collect();
    let reply_draft = own_draft.map(|d| crate::views::DraftView::new(d, now));
    let reply_draft_to = answering(
        state,
        &facts,
        reply_draft.as_ref().and_then(|d| d.reply_to).map(PostId),
    )
    .await?;
    let watch_level =
        crate::services::notify::level_of_reader(account.brief.id, &facts, &reader).as_str();
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
        reply_draft,
        reply_draft_to,
        watch_level,
        thread_bookmark: Some(crate::views::BookmarkControl::new(
            "thread".into(),
            facts.id.0,
            None,
            // Back to the control, where "★ Bookmarked" says it worked.
            format!("{}#bm-thread", view.thread.url),
            bookmark_of(None),
        )),
    })
}

/// A page that needs an account sends anonymous readers to sign in first.
fn sign_in_first(next: &str) -> Response {
    Redirect::to(&format!("/signin?next={}", paths::encode_query(next))).into_response()
}

// ---------------------------------------------------------------- refusals and drafts

/// Why a submit was refused, shown above the form it came from, everything typed still in it.
#[derive(Clone, Debug)]
pub struct RefusalView {
    pub message: String,
    /// Seconds until trying again makes sense (a rate limit, a database that is away).
    pub retry_after: Option<u64>,
    /// Whether the text was kept as a draft on the server as well.
    pub kept: bool,
}

impl RefusalView {
    /// The reason a service gave, as the reader is told it.
    fn of(err: &AppError, kept: bool) -> Self {
        if let AppError::Internal(cause) = err {
            tracing::error!(error = ?cause, "a writing form's submit failed");
        }
        Self {
            message: err.public_message(),
            retry_after: err.retry_after(),
            kept,
        }
    }

    /// A form sent from another site: nothing posted, nothing saved.
    fn cross_site() -> Self {
        Self {
            message: "This form was sent from another site, so nothing was posted or saved. If \
                      you wrote this, check the text below and post it from here."
                .into(),
            retry_after: None,
            kept: false,
        }
    }
}

/// What a writing form says above its fields, besides field errors: a refusal, or the draft
/// it was filled from; and the draft's place, where the page's script keeps saving.
#[derive(Clone, Debug, Default)]
pub struct FormNotes {
    pub refusal: Option<RefusalView>,
    pub restored: Option<crate::views::DraftView>,
    /// `thread`, `reply:12` or `edit:34`.
    pub place: String,
}

impl FormNotes {
    fn at(place: DraftPlace) -> Self {
        Self {
            place: place.key(),
            ..Self::default()
        }
    }

    fn refused(place: DraftPlace, refusal: RefusalView) -> Self {
        Self {
            refusal: Some(refusal),
            ..Self::at(place)
        }
    }

    fn restored(place: DraftPlace, draft: Option<agora_store::DraftRow>) -> Self {
        Self {
            restored: draft.map(|d| crate::views::DraftView::new(d, Timestamp::now())),
            ..Self::at(place)
        }
    }

    /// The status a refused form is answered with, and its `Retry-After`.
    fn respond(&self, status: StatusCode, html: String) -> Response {
        let mut response = private_page(status, html);
        if let Some(seconds) = self.refusal.as_ref().and_then(|r| r.retry_after)
            && let Ok(value) = axum::http::HeaderValue::from_str(&seconds.to_string())
        {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, value);
        }
        response
    }
}

/// A refused submit: the text kept as a draft (when the author may keep one), then the notes
/// that say why.
async fn refused(
    state: &AppState,
    viewer: &Viewer,
    place: DraftPlace,
    content: DraftContent,
    err: &AppError,
) -> FormNotes {
    let kept = drafts::keep_refused(state, viewer.account.as_deref(), place, content).await;
    FormNotes::refused(place, RefusalView::of(err, kept))
}

/// Uploads the files a writing form brought (its file field, for browsers without
/// JavaScript) and adds each one's Markdown to `body`, as a paragraph of its own. A refusal
/// stops there: what was uploaded before it stays in the text, and the refusal is returned
/// for the form to show, beside the text as typed.
async fn attach(
    state: &AppState,
    viewer: &Viewer,
    body: &mut String,
    files: Vec<crate::services::uploads::IncomingFile>,
    refused: Option<AppError>,
) -> Result<(), AppError> {
    for file in files {
        let uploaded =
            crate::services::uploads::upload(state, viewer.account.as_deref(), file).await?;
        let kept = body.trim_end().len();
        body.truncate(kept);
        if !body.is_empty() {
            body.push_str("\n\n");
        }
        body.push_str(&uploaded.markdown);
        body.push('\n');
    }
    match refused {
        Some(err) => Err(err),
        None => Ok(()),
    }
}

/// A refused attachment as the form shows it: an upload's refusal beside the file field
/// (its message names the limit), anything else (suspended, signed out) as the form's note.
async fn attach_refused(
    state: &AppState,
    viewer: &Viewer,
    place: DraftPlace,
    content: DraftContent,
    err: &AppError,
) -> (FieldErrors, FormNotes) {
    let mut errors = FieldErrors::default();
    if let AppError::UploadRefused { message, .. } = err {
        drafts::keep_refused(state, viewer.account.as_deref(), place, content).await;
        errors.add("files", message.clone());
        (errors, FormNotes::at(place))
    } else {
        (errors, refused(state, viewer, place, content, err).await)
    }
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

impl ComposeForm {
    fn content(&self) -> DraftContent {
        DraftContent {
            subtopic: self.subtopic.clone(),
            title: self.title.clone(),
            tags: self.tags.clone(),
            kind: self.kind.clone(),
            body: self.body.clone(),
            ..DraftContent::default()
        }
    }
}

#[derive(Template)]
#[template(path = "compose.html")]
struct ComposeTemplate {
    layout: Layout,
    form: ComposeForm,
    errors: FieldErrors,
    notes: FormNotes,
    subtopics: Vec<(String, String)>,
    tags: Vec<(String, String)>,
    preview_html: Option<String>,
    /// Existing threads like the one being written (shown at the preview step).
    similar: Vec<crate::views::ThreadSummaryView>,
}

// One argument per part of the page.
#[allow(clippy::too_many_arguments)]
async fn compose_page(
    state: &AppState,
    viewer: &Viewer,
    form: ComposeForm,
    errors: FieldErrors,
    notes: FormNotes,
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
        notes: notes.clone(),
        subtopics,
        tags,
        preview_html,
        similar,
    })?;
    Ok(notes.respond(status, html))
}

/// `/new?subtopic=area/slug` or `/new?tag=slug`: the form with that subtopic or tag chosen.
#[derive(Debug, Default, Deserialize)]
pub struct ComposeQuery {
    pub subtopic: Option<String>,
    pub tag: Option<String>,
    /// A title to start from ("Ask this as a new question" on a search that found little).
    pub title: Option<String>,
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
    let place = DraftPlace::NewThread;
    let draft = drafts::at(&state, viewer.account.as_deref(), place).await?;
    let form = match &draft {
        // The draft comes back as it was left; a subtopic or tag asked for fills only what
        // the draft left empty.
        Some(d) => ComposeForm {
            subtopic: if d.content.subtopic.is_empty() {
                query.subtopic.unwrap_or_default()
            } else {
                d.content.subtopic.clone()
            },
            title: if d.content.title.trim().is_empty() {
                query.title.clone().unwrap_or_default()
            } else {
                d.content.title.clone()
            },
            tags: if d.content.tags.trim().is_empty() {
                query.tag.unwrap_or_default()
            } else {
                d.content.tags.clone()
            },
            kind: if d.content.kind.is_empty() {
                "question".into()
            } else {
                d.content.kind.clone()
            },
            body: d.content.body.clone(),
            preview: None,
        },
        None => ComposeForm {
            subtopic: query.subtopic.unwrap_or_default(),
            tags: query.tag.unwrap_or_default(),
            title: query
                .title
                .as_deref()
                .unwrap_or_default()
                .chars()
                .take(200)
                .collect(),
            kind: "question".into(),
            ..ComposeForm::default()
        },
    };
    compose_page(
        &state,
        &viewer,
        form,
        FieldErrors::default(),
        FormNotes::restored(place, draft),
        None,
        StatusCode::OK,
    )
    .await
}

pub async fn compose_submit(
    State(state): State<AppState>,
    viewer: Viewer,
    ip: ClientIp,
    source: FormSource,
    sent: WritingForm<ComposeForm>,
) -> Result<Response, AppError> {
    let WritingForm {
        mut form,
        files,
        refused: file_refused,
    } = sent;
    let place = DraftPlace::NewThread;
    // From another site: shown back, nothing posted or kept (not even through sign-in).
    if source.cross_site {
        let notes = FormNotes::refused(place, RefusalView::cross_site());
        let errors = FieldErrors::default();
        return compose_page(
            &state,
            &viewer,
            form,
            errors,
            notes,
            None,
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    if !viewer.signed_in() {
        return sign_in_to_keep(&state, &viewer, place, form.content(), "/new");
    }
    if let Err(err) = attach(&state, &viewer, &mut form.body, files, file_refused).await {
        let (errors, notes) = attach_refused(&state, &viewer, place, form.content(), &err).await;
        return compose_page(&state, &viewer, form, errors, notes, None, err.status()).await;
    }
    let account = viewer.account.as_deref();
    let draft = ThreadDraft {
        subtopic: form.subtopic.clone(),
        title: form.title.clone(),
        tags: form.tags.clone(),
        kind: form.kind.clone(),
        body: form.body.clone(),
    };
    if form.preview.is_some() {
        let errors = match posting::preview_thread(&state, account, &draft).await {
            Ok(errors) => errors,
            Err(err) => {
                let notes = refused(&state, &viewer, place, form.content(), &err).await;
                let errors = FieldErrors::default();
                return compose_page(&state, &viewer, form, errors, notes, None, err.status())
                    .await;
            }
        };
        let html = crate::services::render::post_html(&state, &form.body).await?;
        let notes = FormNotes::at(place);
        return compose_page(
            &state,
            &viewer,
            form,
            errors,
            notes,
            Some(html),
            StatusCode::OK,
        )
        .await;
    }
    match posting::start_thread(&state, account, ip, &draft).await {
        Ok(Ok((_, _, url))) => Ok(see_other(&url)),
        Ok(Err(errors)) => {
            drafts::keep_refused(&state, account, place, form.content()).await;
            let notes = FormNotes::at(place);
            compose_page(
                &state,
                &viewer,
                form,
                errors,
                notes,
                None,
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(err) => {
            let notes = refused(&state, &viewer, place, form.content(), &err).await;
            let errors = FieldErrors::default();
            compose_page(&state, &viewer, form, errors, notes, None, err.status()).await
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
    notes: FormNotes,
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

/// What a reply page shows besides its thread.
struct ReplyPage {
    body: String,
    errors: FieldErrors,
    notes: FormNotes,
    preview_html: Option<String>,
    answering: Option<crate::views::ReplyToView>,
}

async fn reply_page(
    state: &AppState,
    viewer: &Viewer,
    thread: &agora_store::ThreadFacts,
    page: ReplyPage,
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
    let notes = page.notes;
    let html = render(&ReplyTemplate {
        layout,
        thread_title: thread.title.clone(),
        thread_url: url,
        action: format!("/thread/{}/reply", thread.id),
        body: page.body,
        errors: page.errors,
        notes: notes.clone(),
        preview_html: page.preview_html,
        answering: page.answering,
    })?;
    Ok(notes.respond(status, html))
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
    let place = DraftPlace::Reply(id);
    let draft = drafts::at(&state, viewer.account.as_deref(), place).await?;
    if let Err(err) = posting::check(viewer.account.as_deref(), Action::Reply(&thread)) {
        // Refused now (locked meanwhile, suspended): a draft kept here is still shown, with
        // the reason, so its text can be copied elsewhere.
        let Some(draft) = draft else {
            return Err(err);
        };
        let answering = answering(&state, &thread, draft.content.reply_to).await?;
        let page = ReplyPage {
            body: draft.content.body,
            errors: FieldErrors::default(),
            notes: FormNotes::refused(place, RefusalView::of(&err, true)),
            preview_html: None,
            answering,
        };
        return reply_page(&state, &viewer, &thread, page, err.status()).await;
    }
    let mut body = draft
        .as_ref()
        .map(|d| d.content.body.clone())
        .unwrap_or_default();
    let mut to = query.to.as_deref().map(parse_post_id).transpose()?;
    if let Some(quote) = query.quote.as_deref() {
        let post = posting::post_facts(&state, parse_post_id(quote)?).await?;
        if post.thread.id == id && !post.deleted && !post.hidden {
            // A quote goes under what the draft already holds.
            if !body.trim().is_empty() {
                body = format!("{}\n\n", body.trim_end());
            }
            body.push_str(&posting::quote(&post));
            // A quote answers the post it quotes.
            to = to.or(Some(post.id));
        }
    }
    let to = to.or(draft.as_ref().and_then(|d| d.content.reply_to));
    let answering = answering(&state, &thread, to).await?;
    let page = ReplyPage {
        body,
        errors: FieldErrors::default(),
        notes: FormNotes::restored(place, draft),
        preview_html: None,
        answering,
    };
    reply_page(&state, &viewer, &thread, page, StatusCode::OK).await
}

pub async fn reply_submit(
    State(state): State<AppState>,
    viewer: Viewer,
    ip: ClientIp,
    source: FormSource,
    Path(id): Path<String>,
    sent: WritingForm<ReplyForm>,
) -> Result<Response, AppError> {
    let WritingForm {
        form,
        files,
        refused: file_refused,
    } = sent;
    let id = parse_thread_id(&id)?;
    let thread = posting::thread_facts(&state, id).await?;
    let place = DraftPlace::Reply(id);
    let reply_to = reply_to_field(form.reply_to.as_deref())?;
    let content = drafts::reply_content(&form.body, reply_to);
    let account = viewer.account.as_deref();
    let answering = answering(&state, &thread, reply_to).await?;
    let mut page = ReplyPage {
        body: form.body,
        errors: FieldErrors::default(),
        notes: FormNotes::at(place),
        preview_html: None,
        answering,
    };
    // From another site: shown back, nothing posted or kept (not even through sign-in).
    if source.cross_site {
        page.notes = FormNotes::refused(place, RefusalView::cross_site());
        return reply_page(&state, &viewer, &thread, page, StatusCode::FORBIDDEN).await;
    }
    if !viewer.signed_in() {
        return sign_in_to_keep(
            &state,
            &viewer,
            place,
            content,
            &format!("/thread/{id}/reply"),
        );
    }
    if let Err(err) = attach(&state, &viewer, &mut page.body, files, file_refused).await {
        let content = drafts::reply_content(&page.body, reply_to);
        (page.errors, page.notes) = attach_refused(&state, &viewer, place, content, &err).await;
        return reply_page(&state, &viewer, &thread, page, err.status()).await;
    }
    let content = drafts::reply_content(&page.body, reply_to);
    if form.preview.is_some() {
        if let Err(err) = posting::check(account, Action::Reply(&thread)) {
            page.notes = refused(&state, &viewer, place, content, &err).await;
            return reply_page(&state, &viewer, &thread, page, err.status()).await;
        }
        page.preview_html = Some(crate::services::render::post_html(&state, &page.body).await?);
        return reply_page(&state, &viewer, &thread, page, StatusCode::OK).await;
    }
    match posting::reply(&state, account, ip, &thread, &page.body, reply_to).await {
        Ok(Ok((_, url))) => Ok(see_other(&url)),
        Ok(Err(errors)) => {
            drafts::keep_refused(&state, account, place, content).await;
            page.errors = errors;
            reply_page(&state, &viewer, &thread, page, StatusCode::BAD_REQUEST).await
        }
        Err(err) => {
            page.notes = refused(&state, &viewer, place, content, &err).await;
            reply_page(&state, &viewer, &thread, page, err.status()).await
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

impl EditForm {
    fn content(&self) -> DraftContent {
        DraftContent {
            title: self.title.clone().unwrap_or_default(),
            tags: self.tags.clone().unwrap_or_default(),
            body: self.body.clone(),
            reason: self.reason.clone(),
            ..DraftContent::default()
        }
    }
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
    notes: FormNotes,
}

async fn edit_page(
    state: &AppState,
    viewer: &Viewer,
    post: &agora_store::PostFacts,
    form: EditForm,
    errors: FieldErrors,
    notes: FormNotes,
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
        notes: notes.clone(),
    })?;
    Ok(notes.respond(status, html))
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
    let place = DraftPlace::Edit(id);
    let draft = drafts::at(&state, viewer.account.as_deref(), place).await?;
    let refusal = posting::check(viewer.account.as_deref(), Action::EditPost(&post)).err();
    if draft.is_none()
        && let Some(err) = refusal
    {
        return Err(err);
    }
    let opening = post.position == 0;
    let form = match &draft {
        Some(d) => EditForm {
            body: d.content.body.clone(),
            reason: d.content.reason.clone(),
            title: opening.then(|| d.content.title.clone()),
            tags: opening.then(|| d.content.tags.clone()),
        },
        None => {
            let tag_text = read::tag_slugs(&state, &post.thread.tags).await?;
            EditForm {
                body: post.body_md.clone(),
                reason: String::new(),
                title: opening.then(|| post.thread.title.clone()),
                tags: opening.then_some(tag_text),
            }
        }
    };
    // Refused now (the thread locked meanwhile): the kept draft is shown with the reason.
    let (notes, status) = match refusal {
        Some(err) => (
            FormNotes::refused(place, RefusalView::of(&err, true)),
            err.status(),
        ),
        None => (FormNotes::restored(place, draft), StatusCode::OK),
    };
    edit_page(
        &state,
        &viewer,
        &post,
        form,
        FieldErrors::default(),
        notes,
        status,
    )
    .await
}

pub async fn edit_submit(
    State(state): State<AppState>,
    viewer: Viewer,
    source: FormSource,
    Path(id): Path<String>,
    sent: WritingForm<EditForm>,
) -> Result<Response, AppError> {
    let WritingForm {
        mut form,
        files,
        refused: file_refused,
    } = sent;
    let id = parse_post_id(&id)?;
    let post = posting::post_facts(&state, id).await?;
    let place = DraftPlace::Edit(id);
    // From another site: shown back, nothing posted or kept (not even through sign-in).
    if source.cross_site {
        let notes = FormNotes::refused(place, RefusalView::cross_site());
        let errors = FieldErrors::default();
        return edit_page(
            &state,
            &viewer,
            &post,
            form,
            errors,
            notes,
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    if !viewer.signed_in() {
        return sign_in_to_keep(
            &state,
            &viewer,
            place,
            form.content(),
            &format!("/posts/{id}/edit"),
        );
    }
    if let Err(err) = attach(&state, &viewer, &mut form.body, files, file_refused).await {
        let (errors, notes) = attach_refused(&state, &viewer, place, form.content(), &err).await;
        return edit_page(&state, &viewer, &post, form, errors, notes, err.status()).await;
    }
    let draft = EditDraft {
        body: form.body.clone(),
        reason: form.reason.clone(),
        title: form.title.clone(),
        tags: form.tags.clone(),
    };
    let account = viewer.account.as_deref();
    match posting::edit(&state, account, &post, &draft).await {
        Ok(Ok(url)) => Ok(see_other(&url)),
        Ok(Err(errors)) => {
            drafts::keep_refused(&state, account, place, form.content()).await;
            let notes = FormNotes::at(place);
            edit_page(
                &state,
                &viewer,
                &post,
                form,
                errors,
                notes,
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(err) => {
            let notes = refused(&state, &viewer, place, form.content(), &err).await;
            let errors = FieldErrors::default();
            edit_page(&state, &viewer, &post, form, errors, notes, err.status()).await
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
