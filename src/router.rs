//! Every route in one place.

use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::{get, patch, post, put};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::csrf::CsrfLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

use crate::app::AppState;
use crate::error::{ApiError, AppError};
use crate::{api, client_ip, health, web};

/// Refuses cross-site state-changing requests with the given response.
fn csrf(
    refuse: fn() -> axum::response::Response,
) -> CsrfLayer<impl Fn(tower_http::csrf::ProtectionError) -> axum::response::Response + Clone> {
    CsrfLayer::new().with_rejection_response(move |_| refuse())
}

/// No inline script anywhere; styles and images from this origin; no framing.
const CSP: &str = "default-src 'self'; img-src 'self' https: data:; style-src 'self'; script-src 'self'; \
                   object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The body limit of the routes that take members' files (see `body::takes_files`).
fn file_limit() -> axum::extract::DefaultBodyLimit {
    axum::extract::DefaultBodyLimit::max(crate::body::MAX_FILE_BODY_BYTES)
}

pub fn build(state: AppState) -> Router {
    let api = Router::new()
        .route("/openapi.json", get(api::openapi))
        .route("/areas", get(api::areas))
        .route(
            "/topics/{area}/{subtopic}/threads",
            get(api::subtopic_threads),
        )
        .route("/tags", get(api::tags))
        .route("/search", get(api::search))
        .route("/similar", get(api::similar))
        .route("/tags/{tag}/threads", get(api::tag_threads))
        .route("/threads/{id}", get(api::thread).patch(api::write::retitle))
        .route("/users", get(api::admin_members::public_list))
        .route("/users/{username}", get(api::user))
        .route("/posts/{id}/revisions", get(api::revisions))
        .route("/me", get(api::write::me))
        .route("/drafts", get(api::drafts::list).put(api::drafts::save))
        .route("/notifications", get(api::notifications::list))
        .route("/notifications/read", post(api::notifications::read))
        .route("/watches", put(api::notifications::watch))
        .route(
            "/bookmarks",
            get(api::bookmarks::list).put(api::bookmarks::save),
        )
        .route(
            "/bookmarks/{id}",
            axum::routing::delete(api::bookmarks::remove),
        )
        .route(
            "/drafts/{id}",
            get(api::drafts::show).delete(api::drafts::discard),
        )
        .route("/preview", post(api::write::preview))
        .route(
            "/uploads",
            get(api::uploads::list).post(api::uploads::create).layer(
                axum::extract::DefaultBodyLimit::max(crate::body::MAX_FILE_BODY_BYTES),
            ),
        )
        .route(
            "/uploads/{token}",
            axum::routing::delete(api::uploads::remove),
        )
        .route("/threads", post(api::write::create_thread))
        .route("/threads/{id}/posts", post(api::write::reply))
        .route(
            "/posts/{id}",
            patch(api::write::edit).delete(api::write::delete),
        )
        .route("/posts/{id}/boost", post(api::write::boost))
        .route(
            "/threads/{id}/accepted",
            put(api::write::accept).delete(api::write::unaccept),
        )
        .route(
            "/threads/{id}/recommended",
            put(api::write::recommend).delete(api::write::unrecommend),
        )
        .route("/posts/{id}/flags", post(api::write::flag))
        .route(
            "/posts/{id}/hidden",
            post(api::write::hide).delete(api::write::unhide),
        )
        .route(
            "/threads/{id}/lock",
            post(api::write::lock).delete(api::write::unlock),
        )
        .route("/threads/{id}/pin", put(api::write::pin))
        .route("/threads/{id}/move", post(api::write::move_thread))
        .route(
            "/users/{username}/suspension",
            put(api::write::suspend).delete(api::write::unsuspend),
        )
        .route("/flags", get(api::write::flags))
        .route("/flags/{id}/resolve", post(api::write::resolve_flag))
        .route("/audit", get(api::write::audit))
        // admin
        .route(
            "/admin/settings",
            get(api::admin_site::settings).patch(api::admin_site::update_settings),
        )
        .route(
            "/admin/site-images/{name}",
            put(api::admin_site::put_image)
                .delete(api::admin_site::delete_image)
                .layer(axum::extract::DefaultBodyLimit::max(
                    crate::body::MAX_UPLOAD_BODY_BYTES,
                )),
        )
        .route("/admin/demo/remove", post(api::admin_site::remove_demo))
        .route(
            "/admin/areas",
            get(api::admin_structure::areas).post(api::admin_structure::create_area),
        )
        .route(
            "/admin/areas/{id}",
            patch(api::admin_structure::edit_area).delete(api::admin_structure::delete_area),
        )
        .route(
            "/admin/subtopics",
            post(api::admin_structure::create_subtopic),
        )
        .route(
            "/admin/subtopics/{id}",
            patch(api::admin_structure::edit_subtopic)
                .delete(api::admin_structure::delete_subtopic),
        )
        .route(
            "/admin/subtopics/{id}/move-threads",
            post(api::admin_structure::move_threads),
        )
        .route(
            "/admin/tags",
            get(api::admin_structure::tags).post(api::admin_structure::create_tag),
        )
        .route(
            "/admin/tags/{tag}",
            patch(api::admin_structure::edit_tag).delete(api::admin_structure::delete_tag),
        )
        .route(
            "/admin/tags/{tag}/merge",
            post(api::admin_structure::merge_tag),
        )
        .route("/admin/users", get(api::admin_members::list))
        .route(
            "/admin/users/{username}",
            get(api::admin_members::one).delete(api::admin_members::delete),
        )
        .route(
            "/admin/users/{username}/role",
            put(api::admin_members::set_role),
        )
        .route(
            "/admin/users/{username}/approve",
            post(api::admin_members::approve),
        )
        .route(
            "/admin/users/{username}/reset",
            post(api::admin_members::reset),
        )
        .route(
            "/admin/users/{username}/sessions",
            axum::routing::delete(api::admin_members::end_sessions),
        )
        .route(
            "/admin/users/{username}/anonymise",
            post(api::admin_members::anonymise),
        )
        .route(
            "/admin/invitations",
            get(api::admin_members::invitations).post(api::admin_members::invite),
        )
        .route(
            "/admin/invitations/{id}",
            axum::routing::delete(api::admin_members::revoke_invitation),
        )
        .fallback(api::not_found)
        .layer(csrf(|| ApiError(AppError::CrossSite).into_response()))
        .layer(middleware::from_fn(crate::body::limit_body))
        .layer(CatchPanicLayer::custom(crate::error::panicked))
        .layer(middleware::from_fn(crate::error::deadline))
        // Errors raised before a handler (extractors, the layers above) become JSON here.
        .layer(middleware::from_fn(crate::error::api_errors))
        // An answer that did not choose its caching (the caller's account, writes, errors,
        // moderation lists) is never stored; public reads set their own.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        ));

    let pages = Router::new()
        .route("/", get(web::topics::home))
        .route("/topics/{area}/{subtopic}", get(web::topics::subtopic))
        .route(
            "/topics/{area}/{subtopic}/{feed}",
            get(web::feed_routes::subtopic_feed),
        )
        .route("/tags", get(web::tags::tags))
        .route("/search", get(web::search::search))
        .route("/search/feed.rss", get(web::search::search_feed))
        .route("/search/feed.atom", get(web::search::search_feed))
        .route("/opensearch.xml", get(web::search::opensearch))
        .route("/tags/{tag}", get(web::tags::tag))
        .route("/tags/{tag}/{feed}", get(web::feed_routes::tag_feed))
        .route("/thread/{id}", get(web::threads::thread_without_slug))
        // A thread's feeds have fixed names, so they cannot be mistaken for its slug.
        .route("/thread/{id}/feed.rss", get(web::feed_routes::thread_feed))
        .route("/thread/{id}/feed.atom", get(web::feed_routes::thread_feed))
        .route("/thread/{id}/{slug}", get(web::threads::thread))
        .route("/posts/{id}/revisions", get(web::threads::revisions))
        .route("/users", get(web::users::members))
        .route("/users/{username}", get(web::users::user))
        .route("/users/{username}/bookmarks", get(web::bookmarks::list))
        // A member's feeds and the site's have fixed names.
        .route(
            "/users/{username}/feed.rss",
            get(web::feed_routes::user_feed),
        )
        .route(
            "/users/{username}/feed.atom",
            get(web::feed_routes::user_feed),
        )
        .route("/feed.rss", get(web::feed_routes::latest_feed))
        .route("/feed.atom", get(web::feed_routes::latest_feed))
        .route("/static/{file}", get(web::static_file))
        .route("/uploads/{token}", get(web::uploads::file_by_token))
        .route("/uploads/{token}/{name}", get(web::uploads::file))
        .route(
            "/uploads/{token}/t/{thumbnail}",
            get(web::uploads::thumbnail),
        )
        .route("/uploads/{token}/delete", post(web::uploads::remove))
        .route("/avatars/{token}/{size}", get(web::uploads::avatar))
        // the site's own pages and files, and the first-run setup
        .route("/about", get(web::site::page))
        .route("/guidelines", get(web::site::page))
        .route("/terms", get(web::site::page))
        .route("/privacy", get(web::site::page))
        .route("/site/{file}", get(web::site::file))
        .route(
            "/setup",
            get(web::site::setup).post(web::site::setup_submit),
        )
        // admin
        .route("/admin", get(web::admin::dashboard))
        .route(
            "/admin/settings",
            get(web::admin::settings::show)
                .post(web::admin::settings::save)
                .layer(axum::extract::DefaultBodyLimit::max(
                    crate::body::MAX_UPLOAD_BODY_BYTES,
                )),
        )
        .route(
            "/admin/demo/remove",
            post(web::admin::settings::remove_demo),
        )
        .route("/admin/test-email", post(web::admin::test_email))
        .route("/admin/jobs/{id}/retry", post(web::admin::retry_job))
        .route("/admin/structure", get(web::admin::structure::overview))
        .route(
            "/admin/structure/areas",
            post(web::admin::structure::create_area),
        )
        .route(
            "/admin/structure/areas/new",
            get(web::admin::structure::new_area),
        )
        .route(
            "/admin/structure/areas/{id}",
            get(web::admin::structure::area).post(web::admin::structure::edit_area),
        )
        .route(
            "/admin/structure/areas/{id}/move",
            post(web::admin::structure::move_area),
        )
        .route(
            "/admin/structure/areas/{id}/archive",
            post(web::admin::structure::archive_area),
        )
        .route(
            "/admin/structure/areas/{id}/delete",
            post(web::admin::structure::delete_area),
        )
        .route(
            "/admin/structure/subtopics",
            post(web::admin::structure::create_subtopic),
        )
        .route(
            "/admin/structure/subtopics/new",
            get(web::admin::structure::new_subtopic),
        )
        .route(
            "/admin/structure/subtopics/{id}",
            get(web::admin::structure::subtopic).post(web::admin::structure::edit_subtopic),
        )
        .route(
            "/admin/structure/subtopics/{id}/rules",
            post(web::admin::structure::set_rules),
        )
        .route(
            "/admin/structure/subtopics/{id}/move-threads",
            post(web::admin::structure::move_threads),
        )
        .route(
            "/admin/structure/subtopics/{id}/move",
            post(web::admin::structure::move_subtopic),
        )
        .route(
            "/admin/structure/subtopics/{id}/archive",
            post(web::admin::structure::archive_subtopic),
        )
        .route(
            "/admin/structure/subtopics/{id}/delete",
            post(web::admin::structure::delete_subtopic),
        )
        .route(
            "/admin/tags",
            get(web::admin::tags::list).post(web::admin::tags::create),
        )
        .route(
            "/admin/tags/{slug}",
            get(web::admin::tags::tag).post(web::admin::tags::edit),
        )
        .route("/admin/tags/{slug}/merge", post(web::admin::tags::merge))
        .route("/admin/tags/{slug}/delete", post(web::admin::tags::delete))
        .route("/admin/users", get(web::admin::members::directory))
        .route("/admin/uploads", get(web::admin::uploads))
        .route("/admin/users/{username}", get(web::admin::members::show))
        .route(
            "/admin/users/{username}/role",
            post(web::admin::members::set_role),
        )
        .route(
            "/admin/users/{username}/suspend",
            post(web::admin::members::suspend),
        )
        .route(
            "/admin/users/{username}/unsuspend",
            post(web::admin::members::unsuspend),
        )
        .route(
            "/admin/users/{username}/reset",
            post(web::admin::members::send_reset),
        )
        .route(
            "/admin/users/{username}/end-sessions",
            post(web::admin::members::end_sessions),
        )
        .route(
            "/admin/users/{username}/approve",
            post(web::admin::members::approve),
        )
        .route(
            "/admin/users/{username}/anonymise",
            post(web::admin::members::anonymise),
        )
        .route(
            "/admin/users/{username}/delete",
            post(web::admin::members::delete),
        )
        .route(
            "/admin/invitations",
            get(web::admin::members::invitations).post(web::admin::members::invite),
        )
        .route(
            "/admin/invitations/{id}/revoke",
            post(web::admin::members::revoke_invitation),
        )
        // accounts
        .route(
            "/signup",
            get(web::accounts::signup).post(web::accounts::signup_submit),
        )
        .route(
            "/signin",
            get(web::accounts::signin).post(web::accounts::signin_submit),
        )
        .route("/signout", post(web::accounts::signout))
        .route(
            "/reset",
            get(web::accounts::reset).post(web::accounts::reset_submit),
        )
        .route(
            "/reset/{token}",
            get(web::accounts::reset_token).post(web::accounts::reset_token_submit),
        )
        .route("/verify/{token}", get(web::accounts::verify))
        .route("/settings", get(web::accounts::settings_with_notice))
        .route("/settings/profile", post(web::accounts::profile_submit))
        .route(
            "/settings/avatar",
            post(web::accounts::avatar_submit).layer(file_limit()),
        )
        .route(
            "/settings/avatar/remove",
            post(web::accounts::avatar_remove),
        )
        .route("/settings/password", post(web::accounts::password_submit))
        .route("/settings/verify", post(web::accounts::resend_verification))
        .route(
            "/settings/sessions/end-others",
            post(web::accounts::end_other_sessions),
        )
        .route(
            "/settings/sessions/{id}/end",
            post(web::accounts::end_session),
        )
        .route("/settings/tokens", post(web::accounts::create_token))
        .route("/drafts/{id}/discard", post(web::accounts::discard_draft))
        .route("/notifications", get(web::notifications::list))
        .route("/notifications/read", post(web::notifications::read_all))
        .route("/watch", post(web::notifications::watch))
        .route("/bookmarks", post(web::bookmarks::save))
        .route("/bookmarks/{id}/delete", post(web::bookmarks::remove))
        .route(
            "/unsubscribe/{token}",
            get(web::notifications::unsubscribe_form).post(web::notifications::unsubscribe),
        )
        .route(
            "/settings/notifications",
            post(web::notifications::save_prefs),
        )
        .route(
            "/settings/tokens/{id}/revoke",
            post(web::accounts::revoke_token),
        )
        // writing
        .route(
            "/new",
            get(web::posting::compose)
                .post(web::posting::compose_submit)
                .layer(file_limit()),
        )
        .route(
            "/thread/{id}/reply",
            get(web::posting::reply_form)
                .post(web::posting::reply_submit)
                .layer(file_limit()),
        )
        .route(
            "/posts/{id}/edit",
            get(web::posting::edit_form)
                .post(web::posting::edit_submit)
                .layer(file_limit()),
        )
        .route(
            "/posts/{id}/delete",
            get(web::threads::delete_confirm).post(web::posting::delete),
        )
        .route("/posts/{id}/boost", post(web::posting::boost))
        .route("/posts/{id}/accept", post(web::posting::accept))
        .route("/posts/{id}/unaccept", post(web::posting::unaccept))
        .route("/posts/{id}/recommend", post(web::posting::recommend))
        .route("/posts/{id}/unrecommend", post(web::posting::unrecommend))
        // moderation
        .route("/posts/{id}/flag", post(web::moderation::flag))
        .route("/posts/{id}/hide", post(web::moderation::hide))
        .route("/posts/{id}/unhide", post(web::moderation::unhide))
        .route("/thread/{id}/lock", post(web::moderation::lock))
        .route("/thread/{id}/unlock", post(web::moderation::unlock))
        .route("/thread/{id}/pin", post(web::moderation::pin))
        .route("/thread/{id}/move", post(web::moderation::move_thread))
        .route("/thread/{id}/retitle", post(web::moderation::retitle))
        .route("/users/{username}/suspend", post(web::moderation::suspend))
        .route(
            "/users/{username}/unsuspend",
            post(web::moderation::unsuspend),
        )
        .route("/review", get(web::moderation::review))
        .route("/review/{id}/resolve", post(web::moderation::resolve))
        .route("/audit", get(web::moderation::audit))
        .fallback(web::errors::not_found)
        // Cross-site state changes are refused before any handler runs (Sec-Fetch-Site,
        // then Origin against Host); the refusal is rendered as a page by `error_pages`.
        // The writing forms are let through to handlers that check the same way
        // (`web::form::FormSource`) and show the form again, text kept, changing nothing.
        .layer(
            csrf(|| AppError::CrossSite.into_response()).with_insecure_bypass(|method, uri| {
                web::form::keeps_text(method, uri) || web::form::one_click(method, uri)
            }),
        )
        .layer(middleware::from_fn(crate::body::limit_body))
        .layer(CatchPanicLayer::custom(crate::error::panicked))
        .layer(middleware::from_fn(crate::error::deadline))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            web::errors::error_pages,
        ));

    let hsts = state
        .config
        .hsts()
        .and_then(|value| HeaderValue::from_str(&value).ok());

    // Event streams stay open for as long as a page does: outside the compression layer,
    // whose body wrapper (5.8 KB, allocated whatever the encoding) would be held by each one
    // (event streams are never compressed anyway).
    let live = Router::new()
        .route("/events", get(web::live::events))
        .layer(CatchPanicLayer::custom(crate::error::panicked));

    Router::new()
        .merge(pages)
        .nest("/api/v1", api)
        .route("/healthz", get(health::health))
        .layer(CompressionLayer::new())
        .merge(live)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            client_ip::middleware,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            web::uploads::upload_origin_only,
        ))
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
        .layer(SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            move |_: &axum::response::Response| hsts.clone(),
        ))
        // Outside the page and API routers (whose own `deadline` answers first, with a
        // body): a last bound for `/healthz` and anything else.
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            crate::error::REQUEST_DEADLINE + Duration::from_secs(1),
        ))
        .with_state(state)
}
