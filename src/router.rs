//! Every route in one place.

use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware;
use axum::routing::get;
use tower_http::compression::CompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

use crate::app::AppState;
use crate::{api, client_ip, health, web};

/// No inline script anywhere; styles and images from this origin; no framing.
const CSP: &str = "default-src 'self'; img-src 'self' https: data:; style-src 'self'; script-src 'self'; \
                   object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub fn build(state: AppState) -> Router {
    let api = Router::new()
        .route("/openapi.json", get(api::openapi))
        .route("/areas", get(api::areas))
        .route(
            "/topics/{area}/{subtopic}/threads",
            get(api::subtopic_threads),
        )
        .route("/tags", get(api::tags))
        .route("/tags/{tag}/threads", get(api::tag_threads))
        .route("/threads/{id}", get(api::thread))
        .route("/users/{username}", get(api::user))
        .route("/posts/{id}/revisions", get(api::revisions))
        .fallback(api::not_found);

    let pages = Router::new()
        .route("/", get(web::home))
        .route("/topics/{area}/{subtopic}", get(web::subtopic))
        .route("/topics/{area}/{subtopic}/{feed}", get(web::subtopic_feed))
        .route("/tags", get(web::tags))
        .route("/tags/{tag}", get(web::tag))
        .route("/tags/{tag}/{feed}", get(web::tag_feed))
        .route("/thread/{id}", get(web::thread_without_slug))
        // A thread's feeds have fixed names, so they cannot be mistaken for its slug.
        .route("/thread/{id}/feed.rss", get(web::thread_feed))
        .route("/thread/{id}/feed.atom", get(web::thread_feed))
        .route("/thread/{id}/{slug}", get(web::thread))
        .route("/posts/{id}/revisions", get(web::revisions))
        .route("/users/{username}", get(web::user))
        .route("/static/{file}", get(web::static_file))
        .fallback(web::not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            web::error_pages,
        ));

    Router::new()
        .merge(pages)
        .nest("/api/v1", api)
        .route("/healthz", get(health::health))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            client_ip::middleware,
        ))
        .layer(CompressionLayer::new())
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(30),
        ))
        .with_state(state)
}
