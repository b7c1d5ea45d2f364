//! Building and running the HTTP server, shared by `livedrop serve` and the tests.

use std::net::TcpListener;

use std::time::Duration;

use actix_http::{HttpService, KeepAlive};
use actix_service::{fn_factory, fn_service, map_config, IntoServiceFactory, ServiceFactoryExt};
use actix_web::dev::{AppConfig, Server};
use actix_web::middleware::{from_fn, Compress, Condition};
use actix_web::{web, App};

use crate::config::Config;
use crate::http::{self, extract, middleware};
use crate::state::AppState;

/// Seconds in-flight requests get to finish after SIGTERM/SIGINT.
pub const SHUTDOWN_GRACE_SECS: u64 = 10;

/// Everything start-up does before listening: connect, migrate (embedded mode, or when
/// asked), seed the demo when configured and the store is empty.
pub async fn prepare(config: Config, migrate: bool) -> Result<AppState, String> {
    let migrate = migrate || config.is_embedded();
    let state = AppState::build(config).await?;
    if migrate {
        let applied = crate::db::migrations::run(&state.store).await?;
        if !applied.is_empty() {
            tracing::info!(?applied, "migrations applied");
        }
    }
    if state.config.seed_demo {
        crate::demo::seed_if_empty(&state)
            .await
            .map_err(|e| format!("demo seed: {e}"))?;
    }
    // Accounts deleted within an access token's lifetime (with a margin), then every
    // deletion any node announces.
    let since = state.clock.now() - chrono::Duration::hours(1);
    // A store not yet migrated (a cluster node started before `migrate`) has no accounts
    // to read: it serves 503 from /readyz until migrated, and nobody can sign in meanwhile.
    match crate::db::models::user::deleted_since(&state.store, since).await {
        Ok(ids) => ids.into_iter().for_each(|id| state.revoked.insert(id)),
        Err(e) => tracing::warn!(error = %e, "deleted accounts not read at start"),
    }
    // And every account an admin disabled.
    match crate::db::models::user::disabled(&state.store).await {
        Ok(ids) => ids.into_iter().for_each(|id| state.revoked.insert(id)),
        Err(e) => tracing::warn!(error = %e, "disabled accounts not read at start"),
    }
    actix_web::rt::spawn(state.revoked.clone().follow(state.bus.clone()));
    // Hold expiry runs on every node; it is idempotent (see actors::janitor).
    actix_web::rt::spawn(crate::actors::janitor::run(state.clone()));
    actix_web::rt::spawn(crate::analytics::run(state.clone()));
    actix_web::rt::spawn(state.hub.clone().run(state.bus.clone()));
    actix_web::rt::spawn(state.registry.clone().follow_elsewhere(state.bus.clone()));
    // One mail sender per node; nodes share the queue and claim rows (see mail::queue).
    actix_web::rt::spawn(state.mail_queue.clone().run());
    Ok(state)
}

/// Start serving on `listener`. The returned server handles SIGTERM/SIGINT gracefully:
/// the storefront actors write the analytics they hold (the only state acknowledged
/// before it is written, see actors::storefront), then in-flight requests get
/// [`SHUTDOWN_GRACE_SECS`] to finish.
pub fn serve(state: AppState, listener: TcpListener, workers: usize) -> std::io::Result<Server> {
    let registry = state.registry.clone();
    let data = web::Data::new(state);
    let local_addr = listener.local_addr()?;
    // actix-web's `HttpServer` is this, less the upgrade handler: a WebSocket handshake
    // leaves the HTTP dispatcher (and its buffers) before routing, for `ws::conn`.
    let builder = actix_server::Server::build();
    let shutdown = builder.graceful_shutdown_signal();
    let server = builder
        .workers(workers.max(1))
        .shutdown_timeout(SHUTDOWN_GRACE_SECS)
        .disable_signals()
        .listen("livedrop", listener, move || {
            let data = data.clone();
            let app = App::new()
                .app_data(data.clone())
                .app_data(extract::json_config())
                .app_data(extract::path_config())
                .app_data(extract::query_config())
                .configure(http::configure)
                .default_service(web::to(http::not_found))
                .wrap(Condition::new(
                    data.config.says_test_payments(),
                    from_fn(middleware::test_payments),
                ))
                .wrap(middleware::security_headers(matches!(
                    data.config.payments,
                    crate::config::Payments::Stripe { .. }
                )))
                .wrap(middleware::cors(&data.config.cors_origins))
                .wrap(Compress::default())
                .wrap(from_fn(middleware::observe));
            let app = app
                .into_factory()
                .map_err(|err: actix_web::Error| err.error_response());
            let sockets = data.clone();
            let (closing, stopping) = (shutdown.clone(), shutdown.clone());
            // Each worker thread builds its socket table once, on that thread.
            let upgrade = fn_factory(move || {
                let state = sockets.get_ref().clone();
                let closing = closing.clone();
                async move {
                    let worker = crate::ws::worker::Worker::start(&state.hub, async move {
                        closing.notified().await
                    });
                    Ok::<_, ()>(fn_service(move |(req, framed)| {
                        // A task of its own: the connection's task is sized for the
                        // largest HTTP request future (the whole middleware stack), and
                        // would keep that size for the socket's life.
                        let socket =
                            crate::ws::conn::serve(state.clone(), worker.clone(), req, framed);
                        actix_rt::spawn(socket);
                        async { Ok::<_, std::convert::Infallible>(()) }
                    }))
                }
            });
            HttpService::build()
                // Keep-alive connections close at once when the server stops.
                .graceful_shutdown_signal(move || {
                    let signal = stopping.clone();
                    async move { signal.notified().await }
                })
                .keep_alive(KeepAlive::default())
                .client_request_timeout(Duration::from_secs(5))
                .client_disconnect_timeout(Duration::from_secs(1))
                .local_addr(local_addr)
                .upgrade(upgrade)
                .finish(map_config(app, move |_| AppConfig::default()))
                .tcp()
        })?
        .run();
    let handle = server.handle();
    actix_web::rt::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: writing pending analytics, then draining requests");
        // Bounded: under a steady stream of events "nothing pending" may never come.
        let flushed = tokio::time::timeout(
            std::time::Duration::from_secs(SHUTDOWN_GRACE_SECS / 2),
            registry.flush_all_analytics(),
        )
        .await;
        if flushed.is_err() {
            tracing::warn!("analytics still pending at shutdown; the last events may be lost");
        }
        handle.stop(true).await;
    });
    Ok(server)
}

/// SIGTERM or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            _ => std::future::pending::<()>().await,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
