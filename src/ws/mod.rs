//! The WebSocket feed: `GET /ws`.
//!
//! * [`protocol`] – the JSON messages both ways.
//! * [`hub`]      – this node's topics: every bus event lands here once and is rendered once.
//! * [`session`]  – one socket: auth, subscriptions, heartbeat, a bounded outgoing queue.
//!
//! Changes are made over HTTP; the socket only reads.

pub mod hub;
pub mod protocol;
pub mod session;

use actix_web::{web, HttpRequest, HttpResponse};

use crate::state::AppState;

/// Upgrade to a WebSocket and hand the connection to its session task.
#[utoipa::path(get, path = "/ws", tag = "live",
    responses((status = 101, description = "switching to the WebSocket protocol; see the README for messages"),
        (status = 400, description = "`bad_request`: not a WebSocket handshake (`Upgrade: websocket`, `Connection: Upgrade`, `Sec-WebSocket-Key`, `Sec-WebSocket-Version: 13`)", body = crate::http::openapi::ErrorResponse)))]
pub async fn upgrade(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, actix_web::Error> {
    // A refused handshake gets the JSON error body like every other error.
    let (response, session, stream) = actix_ws::handle(&req, body).map_err(|e| {
        crate::error::AppError::BadRequest(format!("not a WebSocket handshake: {e}"))
    })?;
    let stream = stream.max_frame_size(protocol::MAX_CLIENT_FRAME);
    actix_web::rt::spawn(session::run(state.get_ref().clone(), session, stream));
    Ok(response)
}
