//! The WebSocket feed: `GET /ws`.
//!
//! * [`protocol`] – the JSON messages both ways.
//! * [`hub`]      – this node's topics: every bus event lands here once, is rendered once
//!   into a frame, and goes to each worker thread as one message.
//! * [`worker`]   – one worker thread's sockets and the writer that feeds them.
//! * [`conn`]     – one socket: the handshake, auth, subscriptions, finishing slow writes.
//! * [`frame`]    – server frames, encoded once.
//!
//! Changes are made over HTTP; the socket only reads. A WebSocket handshake is taken off
//! actix-http before routing (`server::serve` installs [`conn::serve`] as its upgrade
//! handler); the route below answers only requests to `/ws` that are not one.

pub mod conn;
pub mod frame;
pub mod hub;
pub mod protocol;
pub mod worker;

use crate::error::AppError;

/// `GET /ws` without the upgrade headers: say what a handshake needs.
#[utoipa::path(get, path = "/ws", tag = "live",
    responses((status = 101, description = "switching to the WebSocket protocol; see the README for messages"),
        (status = 400, description = "`bad_request`: not a WebSocket handshake (`Upgrade: websocket`, `Connection: Upgrade`, `Sec-WebSocket-Key`, `Sec-WebSocket-Version: 13`)", body = crate::http::openapi::ErrorResponse)))]
pub async fn upgrade() -> Result<actix_web::HttpResponse, AppError> {
    Err(AppError::BadRequest(
        "not a WebSocket handshake: send Upgrade: websocket, Connection: Upgrade, Sec-WebSocket-Key and Sec-WebSocket-Version: 13".into(),
    ))
}
