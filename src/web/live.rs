//! `GET /events`: the live-updates stream of one page (see `services::live`). `?thread=ID` for
//! a thread's new replies and edits, `?subtopic=area/slug`, `?tag=slug` or `?home=1` for a
//! listing's new threads; a signed-in reader also hears their unread count. Without
//! JavaScript nothing opens it and pages work as they always did.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use agora_store::{ChangeKind, ChangeRow, SubtopicId, TagId, ThreadId, UserId};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::sync::{broadcast, watch};

use crate::app::AppState;
use crate::auth::Viewer;
use crate::client_ip::ClientIp;
use crate::error::AppError;
use crate::services::live::StreamGuard;
use crate::services::read::post_url;

#[derive(Debug, Default, Deserialize)]
pub struct EventsQuery {
    pub thread: Option<String>,
    pub subtopic: Option<String>,
    pub tag: Option<String>,
    pub home: Option<String>,
}

/// What a stream follows.
#[derive(Clone, Copy, Debug)]
enum Follows {
    Thread(ThreadId),
    Subtopic(SubtopicId),
    Tag(TagId),
    Home,
    /// Only the reader's unread count.
    Nothing,
}

async fn follows(state: &AppState, query: &EventsQuery) -> Result<Follows, AppError> {
    if let Some(thread) = query.thread.as_deref() {
        let id = crate::paths::parse_thread_id(thread)?;
        let facts = crate::services::posting::thread_facts(state, id).await?;
        return Ok(Follows::Thread(facts.id));
    }
    if let Some(path) = query.subtopic.as_deref() {
        let missing = || AppError::not_found(format!("There is no subtopic {path:?}."));
        let (area, slug) = path.split_once('/').ok_or_else(missing)?;
        let id = state
            .store
            .subtopic_id(area, slug)
            .await?
            .ok_or_else(missing)?;
        return Ok(Follows::Subtopic(id));
    }
    if let Some(slug) = query.tag.as_deref() {
        let found = state.store.tag_ids(vec![slug.to_string()]).await?;
        let (_, id) = found
            .into_iter()
            .next()
            .ok_or_else(|| AppError::not_found(format!("There is no tag {slug:?}.")))?;
        return Ok(Follows::Tag(id));
    }
    Ok(if query.home.is_some() {
        Follows::Home
    } else {
        Follows::Nothing
    })
}

/// The event a change-log entry is for this stream, if any (readers see only what is visible).
async fn event_for(state: &AppState, follows: Follows, change: &ChangeRow) -> Option<Event> {
    let id = change.seq.to_string();
    match (follows, &change.kind) {
        (Follows::Thread(thread), ChangeKind::PostCreated) if change.thread == Some(thread) => {
            let post = state.store.post_facts(change.post?).await.ok()??;
            if post.deleted || post.hidden || post.thread.removed {
                return None;
            }
            let url = post_url(thread, &post.thread.slug, post.position, post.id);
            let data =
                serde_json::json!({ "post": post.id.0, "url": url, "author": post.author_name });
            Some(Event::default().id(id).event("post").data(data.to_string()))
        }
        (Follows::Thread(thread), ChangeKind::PostEdited) if change.thread == Some(thread) => {
            let data = serde_json::json!({ "post": change.post?.0 });
            Some(
                Event::default()
                    .id(id)
                    .event("edited")
                    .data(data.to_string()),
            )
        }
        (Follows::Home | Follows::Subtopic(_) | Follows::Tag(_), ChangeKind::ThreadCreated) => {
            let facts = state.store.thread_facts(change.thread?).await.ok()??;
            let shown = !facts.removed
                && match follows {
                    Follows::Subtopic(s) => facts.subtopic == s,
                    Follows::Tag(t) => facts.tags.contains(&t),
                    _ => true,
                };
            if !shown {
                return None;
            }
            let data = serde_json::json!({
                "thread": facts.id.0,
                "title": facts.title,
                "url": crate::paths::thread(facts.id, &facts.slug),
            });
            Some(
                Event::default()
                    .id(id)
                    .event("thread")
                    .data(data.to_string()),
            )
        }
        _ => None,
    }
}

/// One stream's state between events.
struct Stream {
    state: AppState,
    follows: Follows,
    user: Option<UserId>,
    unread: Option<i64>,
    changes: broadcast::Receiver<Arc<ChangeRow>>,
    closing: watch::Receiver<bool>,
    /// Entries at or before this were sent from the backlog.
    replayed: i64,
    pending: VecDeque<Event>,
    tick: tokio::time::Interval,
    _place: StreamGuard,
}

impl Stream {
    /// Queues the unread count when it changed.
    async fn check_unread(&mut self) {
        let Some(user) = self.user else {
            return;
        };
        if let Ok(n) = self.state.store.unread_count(user).await
            && self.unread != Some(n)
        {
            self.unread = Some(n);
            self.pending
                .push_back(Event::default().event("unread").data(n.to_string()));
        }
    }
}

async fn next(mut s: Stream) -> Option<(Result<Event, Infallible>, Stream)> {
    loop {
        if *s.closing.borrow() {
            return None;
        }
        if let Some(event) = s.pending.pop_front() {
            return Some((Ok(event), s));
        }
        tokio::select! {
            _ = s.closing.changed() => return None,
            received = s.changes.recv() => match received {
                Ok(change) => {
                    // Boxed: the work runs rarely, and an idle stream's future stays small
                    // (memory per open page is what bounds how many a node holds).
                    if change.seq > s.replayed
                        && let Some(event) =
                            Box::pin(event_for(&s.state, s.follows, &change)).await
                    {
                        s.pending.push_back(event);
                    }
                    Box::pin(s.check_unread()).await;
                }
                // Too slow to keep up: the page is told to reload rather than miss things.
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    s.pending.push_back(Event::default().event("reload").data("lagged"));
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            },
            _ = s.tick.tick() => Box::pin(s.check_unread()).await,
        }
    }
}

pub async fn events(
    State(state): State<AppState>,
    viewer: Viewer,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    Query(query): Query<EventsQuery>,
) -> Result<Response, AppError> {
    let follows = follows(&state, &query).await?;
    let place = state
        .live
        .admit(client)
        .ok_or(AppError::TooManyRequests { retry_after: 30 })?;
    // Subscribed before the backlog is read, so nothing falls between the two.
    let changes = state.live.subscribe();
    let mut pending = VecDeque::new();
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|v| *v >= 0);
    let mut replayed = 0;
    if let Some(last) = last {
        replayed = last;
        let mut after = last;
        loop {
            let batch = state.store.changes_after(after, 500).await?;
            let Some(end) = batch.last().map(|c| c.seq) else {
                break;
            };
            for change in &batch {
                if let Some(event) = event_for(&state, follows, change).await {
                    pending.push_back(event);
                }
            }
            after = end;
            replayed = end;
            if batch.len() < 500 {
                break;
            }
        }
    }
    let mut tick = tokio::time::interval(Duration::from_secs(3));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut stream = Stream {
        user: viewer.account.as_ref().map(|a| a.brief.id),
        unread: None,
        closing: state.live.closing(),
        state,
        follows,
        changes,
        replayed,
        pending,
        tick,
        _place: place,
    };
    stream.check_unread().await;
    let body = futures_util::stream::unfold(stream, next);
    let mut response = Sse::new(body)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(20)))
        .into_response();
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // nginx (docs/nginx.conf) passes the stream through as it comes.
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}
