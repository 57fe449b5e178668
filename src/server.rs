//! `agora serve`: opens the store, loads the demo into a new forum, serves HTTP, flushes
//! buffered views on a timer, and on SIGINT/SIGTERM stops accepting, finishes requests,
//! flushes views and closes the database.

use std::time::Duration;

use tokio::net::TcpListener;

use crate::app::AppState;
use crate::config::Config;
use crate::router;
use crate::services::archive;

pub async fn serve(config: Config) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let listen = config.listen;
    let demo = config.demo;
    // Held while serving: `agora db restore` refuses to replace the database under us.
    let _serving = match config.database()? {
        agora_store::DatabaseUrl::Sqlite(path) => {
            if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            Some(agora_store::sqlite::hold_lock(&path, false)?)
        }
        agora_store::DatabaseUrl::Postgres(_) => None,
    };
    if config.site.hsts_max_age_secs > 0 && config.hsts().is_none() {
        tracing::warn!(
            base_url = config.base_url(),
            "site.hsts_max_age_secs is set but site.base_url is not https: no HSTS header is sent"
        );
    }
    let state = AppState::open(config).await?;
    // Posts stored by an older renderer are rendered again before anyone reads them (the
    // syntaxes load here, not on the first post with code).
    agora_markup::warm_up();
    if let Some(posts) = archive::rerender_if_stale(&state.store).await? {
        tracing::info!(
            posts,
            version = agora_markup::VERSION,
            "rendered the stored posts again with this build's Markdown renderer"
        );
    }
    if demo && let Some(stats) = archive::load_demo_if_empty(&state.store).await? {
        tracing::info!(
            threads = stats.threads,
            posts = stats.posts,
            "loaded the demo content into the new forum"
        );
    }
    // With several nodes on PostgreSQL, every other node's write makes our cached pages stale.
    let filled = state.store.backfill_name_skeletons().await?;
    if filled > 0 {
        tracing::info!(
            accounts = filled,
            "filled name skeletons for look-alike checks"
        );
    }
    let follower = state.store.follow_other_nodes();
    let settings_follower = tokio::spawn(crate::services::settings::follow(state.clone()));
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    let address = format!("http://{}", listener.local_addr()?);
    tracing::info!(
        address = %address,
        database = state.store.backend_name(),
        startup_ms = started.elapsed().as_millis() as u64,
        "Agora is ready"
    );
    warn_about_base_url(&state, &address);
    if let Some(path) = crate::services::settings::setup_link(&state).await? {
        let link = format!(
            "{}{path}",
            reachable_address(&state, listener.local_addr()?)
        );
        tracing::warn!(link = %link, "this forum has no administrator yet: open the setup link to name it and create one");
        // Also on the console itself (not only the log), where someone starting it looks.
        eprintln!(
            "\n  Set up your forum: {link}\n  (the link works once, for {} hours; restart to get a new one)\n",
            crate::services::settings::SETUP_LINK_HOURS
        );
    }

    // Stopped between flushes, never in the middle of one: a cancelled flush would lose the
    // batch it had taken from the buffer.
    let stop_flusher = std::sync::Arc::new(tokio::sync::Notify::new());
    let flusher = {
        let state = state.clone();
        let stop = stop_flusher.clone();
        let every = Duration::from_secs(state.config.views.flush_interval_secs.max(1));
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every);
            ticker.tick().await;
            loop {
                tokio::select! {
                    _ = ticker.tick() => {}
                    () = stop.notified() => break,
                }
                if let Err(err) = state.flush_views().await {
                    tracing::warn!(error = %err, "could not write view counts; they stay buffered");
                }
            }
        })
    };

    // The one job runner (email and every other kind): a round when a job is queued here,
    // and every 10 seconds for jobs queued elsewhere and retries coming due.
    let runner = tokio::spawn(crate::jobs::run_forever(state.clone()));

    // The notifier follows the change log too: whenever the log moves (this node's writes,
    // or another node's, heard through the store), and every few seconds regardless.
    let stop_notifier = std::sync::Arc::new(tokio::sync::Notify::new());
    let notifier = {
        let state = state.clone();
        let stop = stop_notifier.clone();
        tokio::spawn(async move {
            let changes = state.store.changes();
            let mut seen = None;
            let mut last = std::time::Instant::now();
            loop {
                let now = changes.load(std::sync::atomic::Ordering::Acquire);
                if seen != Some(now) || last.elapsed() >= Duration::from_secs(5) {
                    seen = Some(now);
                    last = std::time::Instant::now();
                    let result = crate::services::notify::catch_up(&state).await;
                    if let Err(err) = &result {
                        tracing::warn!(error = %err, "notifications are behind; retrying");
                    }
                    state.faults.record("notifier", &result);
                }
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_millis(250)) => {}
                    () = stop.notified() => break,
                }
            }
        })
    };

    // Live updates follow the change log for every open page's stream.
    let live = tokio::spawn(crate::services::live::follow(state.clone()));

    // The search indexer follows the change log; writes never wait for it.
    let stop_indexer = std::sync::Arc::new(tokio::sync::Notify::new());
    let indexer = tokio::spawn(
        state
            .search
            .clone()
            .follow(state.store.clone(), stop_indexer.clone()),
    );
    // Related threads are found once per thread and kept, not searched for on every render.
    let stop_related = std::sync::Arc::new(tokio::sync::Notify::new());
    let related = tokio::spawn(
        state
            .search
            .clone()
            .keep_related(state.store.clone(), stop_related.clone()),
    );

    let app =
        router::build(state.clone()).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown({
            // Open event streams never end by themselves: end them, or shutdown would wait.
            let live = state.live.clone();
            async move {
                shutdown_signal().await;
                live.close();
            }
        })
        .await?;

    stop_flusher.notify_one();
    let _ = flusher.await;
    stop_indexer.notify_one();
    let _ = indexer.await;
    stop_related.notify_one();
    let _ = related.await;
    stop_notifier.notify_one();
    let _ = notifier.await;
    let _ = live.await;
    state.finish_background().await;
    runner.abort();
    if let Some(follower) = follower {
        follower.abort();
    }
    settings_follower.abort();
    tracing::info!("shutting down: writing buffered views and closing the database");
    state.flush_views().await?;
    state.store.close().await?;
    Ok(())
}

/// Where someone starting the server can open it: the public address once it is set, else
/// the address it listens on (loopback when it listens on every interface).
fn reachable_address(state: &AppState, local: std::net::SocketAddr) -> String {
    let site = state.site();
    if !site.settings.base_url_is_default() {
        return site.settings.base_url.clone();
    }
    let ip = if local.ip().is_unspecified() {
        std::net::IpAddr::from([127, 0, 0, 1])
    } else {
        local.ip()
    };
    format!("http://{}", std::net::SocketAddr::new(ip, local.port()))
}

/// Links in emails and feeds, and canonical URLs, use `base_url`: warn when it is still the
/// built-in default and the forum is not listening there.
fn warn_about_base_url(state: &AppState, listening: &str) {
    let site = state.site();
    let base = site.settings.base_url.as_str();
    if site.settings.base_url_is_default() && base != listening {
        tracing::warn!(
            base_url = base,
            listening = listening,
            "site.base_url is still the default and the forum is not listening there: links in \
             emails and feeds will be wrong. Set it in /admin/settings (or site.base_url)"
        );
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

/// A server that answers every request with the same `bytes`-long HTML page through the same
/// stack (hyper, axum, tower) as the forum: what this machine can serve at all.
pub async fn ceiling(listen: std::net::SocketAddr, bytes: usize) -> anyhow::Result<()> {
    let page: &'static str = Box::leak("x".repeat(bytes).into_boxed_str());
    let app = axum::Router::new().fallback(axum::routing::get(move || async move {
        (
            [(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")],
            page,
        )
    }));
    let listener = TcpListener::bind(listen).await?;
    tracing::info!(address = %format!("http://{}", listener.local_addr()?), bytes, "ceiling server is ready");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
}
