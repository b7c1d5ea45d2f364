//! One socket's life: read client messages, send frames, keep the peer honest.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use actix_ws::{Message, MessageStream, Session};
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::protocol::{frame, ClientMsg, Reply, Topic};
use crate::actors::drop::Watchers;
use crate::auth::AuthUser;
use crate::db::models::drop as drop_model;
use crate::error::AppError;
use crate::state::AppState;

/// How often the server pings.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);
/// A peer silent (no pong, no message) this long is dead and dropped.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(15);
/// Frames waiting for this socket. Past this, the topic forwarders wait, which makes them
/// skip to the newest frame: a slow reader gets fewer, newer snapshots.
pub const OUT_QUEUE: usize = 16;
/// A socket that cannot take a frame for this long is disconnected.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Topics one socket may watch.
pub const MAX_TOPICS: usize = 32;

struct Subscription {
    forwarder: JoinHandle<()>,
    drop: Option<crate::domain::ids::DropId>,
    raffle: Option<crate::domain::ids::RaffleId>,
}

pub async fn run(state: AppState, mut session: Session, mut stream: MessageStream) {
    let (out_tx, mut out_rx) = mpsc::channel::<std::sync::Arc<str>>(OUT_QUEUE);
    let mut subs: HashMap<String, Subscription> = HashMap::new();
    let mut who: Option<AuthUser> = None;
    // When the token `who` came from expires (unix seconds): the identity and its private
    // topics end then, unless a fresh token was sent before.
    let mut expires_at: Option<i64> = None;
    let mut last_heard = Instant::now();
    let mut heartbeat = tokio::time::interval(HEARTBEAT_INTERVAL);

    let reason = loop {
        tokio::select! {
            msg = stream.next() => {
                let Some(Ok(msg)) = msg else { break None };
                last_heard = Instant::now();
                match msg {
                    Message::Text(text) => {
                        let reply = handle(&state, &text, &mut who, &mut expires_at, &mut subs, &out_tx).await;
                        // Frames queued while handling (a snapshot) go before the reply.
                        let mut failed = false;
                        while let Ok(text) = out_rx.try_recv() {
                            if send(&mut session, text).await.is_err() { failed = true; break; }
                        }
                        if failed { break None; }
                        if let Some(r) = reply {
                            if send(&mut session, r.into()).await.is_err() { break None; }
                        }
                    }
                    Message::Binary(_) => {
                        let r = Reply::Error { code: "bad_message", message: "send JSON text frames", topic: None };
                        if send(&mut session, r.render().into()).await.is_err() { break None; }
                    }
                    Message::Ping(p) => { if session.pong(&p).await.is_err() { break None; } }
                    Message::Pong(_) | Message::Continuation(_) | Message::Nop => {}
                    Message::Close(reason) => break reason,
                }
            }
            Some(text) = out_rx.recv() => {
                if send(&mut session, text).await.is_err() { break None; }
            }
            _ = until_unix(expires_at), if expires_at.is_some() => {
                who = None;
                expires_at = None;
                drop_private(&state, &mut subs);
                let r = Reply::Error {
                    code: "token_expired",
                    message: "the access token expired: send a fresh one with {\"op\": \"auth\"}",
                    topic: None,
                };
                if send(&mut session, r.render().into()).await.is_err() { break None; }
            }
            _ = heartbeat.tick() => {
                if last_heard.elapsed() > CLIENT_TIMEOUT {
                    break None;
                }
                // Bounded like a send: a peer whose queue is full cannot hold the loop.
                match tokio::time::timeout(SEND_TIMEOUT, session.ping(b"")).await {
                    Ok(Ok(())) => {}
                    _ => break None,
                }
            }
        }
    };
    for (_, sub) in subs.drain() {
        unsubscribe(&state, sub);
    }
    // actix-ws's close waits for room in the socket's queue: a peer that reads nothing
    // would hold this task (and its connection) for as long as it lives.
    let _ = tokio::time::timeout(Duration::from_secs(1), session.close(reason)).await;
}

/// Sleep until the unix time `at` (at once if it has passed).
async fn until_unix(at: Option<i64>) {
    let left = at.unwrap_or(0) - chrono::Utc::now().timestamp();
    if left > 0 {
        tokio::time::sleep(Duration::from_secs(left as u64)).await;
    }
}

/// End the private topics (`user:`, `dashboard:`): their identity is gone.
fn drop_private(state: &AppState, subs: &mut HashMap<String, Subscription>) {
    let private: Vec<String> = subs
        .keys()
        .filter(|t| t.starts_with("user:") || t.starts_with("dashboard:"))
        .cloned()
        .collect();
    for t in private {
        if let Some(sub) = subs.remove(&t) {
            unsubscribe(state, sub);
        }
    }
}

/// Send with a deadline: a peer that does not read is dropped rather than buffered for.
async fn send(session: &mut Session, text: std::sync::Arc<str>) -> Result<(), ()> {
    match tokio::time::timeout(SEND_TIMEOUT, session.text(text.to_string())).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}

fn unsubscribe(state: &AppState, sub: Subscription) {
    sub.forwarder.abort();
    if let Some(id) = sub.drop {
        if let Some(addr) = state.registry.loaded(id) {
            addr.do_send(Watchers { delta: -1 });
        }
    }
    if let Some(id) = sub.raffle {
        state.registry.raffle_watchers(id, -1);
    }
}

/// A snapshot topic's frames to one socket: the newest each time it changes, skipping
/// any at or below `last_seq` (already shown by the snapshot or an earlier frame).
async fn forward_latest(
    mut rx: tokio::sync::watch::Receiver<Option<super::hub::Frame>>,
    out: mpsc::Sender<std::sync::Arc<str>>,
    mut last_seq: u64,
) {
    while rx.changed().await.is_ok() {
        let f = rx.borrow_and_update().clone();
        let Some(f) = f else { continue };
        if f.seq != 0 && f.seq <= last_seq {
            continue;
        }
        last_seq = f.seq;
        if out.send(f.text).await.is_err() {
            return;
        }
    }
}

/// A personal topic's frames to one socket: every one, in order (a slow socket makes this
/// wait rather than skip).
async fn forward_each(
    mut rx: tokio::sync::broadcast::Receiver<std::sync::Arc<str>>,
    out: mpsc::Sender<std::sync::Arc<str>>,
    topic: String,
) {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        match rx.recv().await {
            Ok(text) => {
                if out.send(text).await.is_err() {
                    return;
                }
            }
            Err(RecvError::Lagged(n)) => {
                tracing::warn!(%topic, missed = n, "a socket fell behind its personal messages");
            }
            Err(RecvError::Closed) => return,
        }
    }
}

async fn handle(
    state: &AppState,
    text: &str,
    who: &mut Option<AuthUser>,
    expires_at: &mut Option<i64>,
    subs: &mut HashMap<String, Subscription>,
    out: &mpsc::Sender<std::sync::Arc<str>>,
) -> Option<String> {
    let msg: ClientMsg = match serde_json::from_str(text) {
        Ok(m) => m,
        Err(_) => {
            return Some(
                Reply::Error {
                    code: "bad_message",
                    message:
                        "expected {\"op\": \"auth\"|\"subscribe\"|\"unsubscribe\"|\"ping\", …}",
                    topic: None,
                }
                .render(),
            )
        }
    };
    match msg {
        ClientMsg::Ping => Some(
            Reply::Pong {
                server_time: state.clock.now().and_utc(),
            }
            .render(),
        ),
        ClientMsg::Auth { token } => match state.jwt.verify(&token).map_err(|_| ()).and_then(|c| {
            if state.revoked.contains(c.sub) {
                Err(())
            } else {
                Ok(c)
            }
        }) {
            Ok(c) => {
                *who = Some(AuthUser {
                    id: c.sub,
                    role: c.role,
                    verified: c.ev,
                });
                *expires_at = Some(c.exp);
                Some(
                    Reply::Ack {
                        op: "auth",
                        topic: None,
                    }
                    .render(),
                )
            }
            Err(()) => {
                // A refused token ends the earlier identity too, and with it the private
                // topics it was allowed (`user:`, `dashboard:`).
                *who = None;
                *expires_at = None;
                drop_private(state, subs);
                Some(
                    Reply::Error {
                        code: "unauthorized",
                        message: "invalid or expired access token",
                        topic: None,
                    }
                    .render(),
                )
            }
        },
        ClientMsg::Unsubscribe { topic } => {
            if let Some(sub) = subs.remove(&topic) {
                unsubscribe(state, sub);
            }
            Some(
                Reply::Ack {
                    op: "unsubscribe",
                    topic: Some(&topic),
                }
                .render(),
            )
        }
        ClientMsg::Subscribe { topic: name } => {
            let err = |code: &'static str, message: &'static str| {
                Some(
                    Reply::Error {
                        code,
                        message,
                        topic: Some(&name),
                    }
                    .render(),
                )
            };
            let Some(topic) = Topic::parse(&name) else {
                return err(
                    "unknown_topic",
                    "topics are drop:<id>, raffle:<id>, user:<id> or dashboard:<storefront id>",
                );
            };
            if subs.contains_key(&name) {
                return Some(
                    Reply::Ack {
                        op: "subscribe",
                        topic: Some(&name),
                    }
                    .render(),
                );
            }
            if subs.len() >= MAX_TOPICS {
                return err("too_many_topics", "unsubscribe from something first");
            }
            // Check the right to the topic, and take the snapshot a late subscriber gets first.
            let snapshot = match &topic {
                Topic::Drop(id) => match state.registry.state(*id).await {
                    Ok(s) if s.status != crate::domain::drop::DropStatus::Draft => {
                        Some(serde_json::to_value(s).unwrap_or_default())
                    }
                    Ok(_) | Err(AppError::NotFound) => return err("not_found", "no such drop"),
                    Err(_) => return err("service_unavailable", "try again shortly"),
                },
                Topic::Raffle(id) => match state.registry.raffle_state(*id).await {
                    Ok(s) if s.status != crate::domain::raffle::RaffleStatus::Draft => {
                        Some(serde_json::to_value(s).unwrap_or_default())
                    }
                    Ok(_) | Err(AppError::NotFound) => return err("not_found", "no such raffle"),
                    Err(_) => return err("service_unavailable", "try again shortly"),
                },
                Topic::User(id) => {
                    if who.map(|w| w.id) != Some(*id) {
                        return err("forbidden", "authenticate as this user first");
                    }
                    None
                }
                Topic::Dashboard(sf) => {
                    let Some(w) = who else {
                        return err("forbidden", "authenticate as the storefront's owner first");
                    };
                    match drop_model::storefront_owner(&state.store, *sf).await {
                        Ok(Some(owner)) if owner == w.id || w.is_admin() => {}
                        Ok(_) => {
                            return err("forbidden", "only the owner and admins see this dashboard")
                        }
                        Err(_) => return err("service_unavailable", "try again shortly"),
                    }
                    match state.registry.dashboard(*sf).await {
                        Ok(d) => Some(serde_json::to_value(d).unwrap_or_default()),
                        Err(_) => return err("service_unavailable", "try again shortly"),
                    }
                }
            };
            let forwarder = if super::hub::is_personal(&name) {
                let Some(rx) = state.hub.each(&name) else {
                    return err("service_unavailable", "try again shortly");
                };
                tokio::spawn(forward_each(rx, out.clone(), name.clone()))
            } else {
                let Some(mut rx) = state.hub.watch(&name) else {
                    return err("service_unavailable", "try again shortly");
                };
                let mut last_seq = 0u64;
                if let Some(data) = &snapshot {
                    last_seq = data.get("seq").and_then(|s| s.as_u64()).unwrap_or(0);
                    // Queue the snapshot ahead of any update (this socket's queue is in order).
                    if out
                        .send(frame(&name, "snapshot", data).into())
                        .await
                        .is_err()
                    {
                        return None;
                    }
                }
                rx.mark_unchanged();
                tokio::spawn(forward_latest(rx, out.clone(), last_seq))
            };
            let drop = match topic {
                Topic::Drop(id) => {
                    if let Some(addr) = state.registry.loaded(id) {
                        addr.do_send(Watchers { delta: 1 });
                    }
                    Some(id)
                }
                _ => None,
            };
            let raffle = match topic {
                Topic::Raffle(id) => {
                    state.registry.raffle_watchers(id, 1);
                    Some(id)
                }
                _ => None,
            };
            subs.insert(
                name.clone(),
                Subscription {
                    forwarder,
                    drop,
                    raffle,
                },
            );
            Some(
                Reply::Ack {
                    op: "subscribe",
                    topic: Some(&name),
                }
                .render(),
            )
        }
    }
}
