//! One socket's life after the handshake: read and answer the client's messages, finish
//! writes the kernel could not take at once, close when told to.
//!
//! The socket leaves actix-http at the upgrade (see `server::serve`): the connection's
//! 8 KiB read and write buffers go with the HTTP dispatcher, and what stays per socket is
//! the stream, a small [`Conn`], and a read buffer that exists only while a client frame is
//! half-read. Client frames are decoded by actix-http's WebSocket codec; server frames are
//! encoded once per update ([`super::frame`]) and written by the worker ([`super::worker`]).
//! actix-ws is not used: its session writes through the HTTP dispatcher's buffer and needs
//! two tasks and a copy of every frame per socket.

use std::collections::HashSet;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use actix_codec::{Decoder, Framed};
use actix_http::ws::{Codec, Frame, ProtocolError};
use actix_http::{h1, HttpMessage, Request};
use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::frame;
use super::protocol::{self, ClientMsg, Reply, Topic};
use super::worker::{Conn, Slot, Worker, SEND_TIMEOUT};
use crate::actors::drop::Watchers;
use crate::auth::AuthUser;
use crate::db::models::drop as drop_model;
use crate::error::AppError;
use crate::state::AppState;

/// The kernel send buffer of a socket (Linux doubles it for its bookkeeping).
pub const SEND_BUFFER: usize = 64 * 1024;
/// How long a closed socket's last input is read away (see `Socket::end`).
pub const CLOSE_DRAIN: Duration = Duration::from_secs(5);
/// Topics one socket may watch.
pub const MAX_TOPICS: usize = 32;

/// An upgrade request handed over by actix-http: check it, answer `101`, serve the socket.
pub async fn serve(
    state: AppState,
    worker: Rc<Worker>,
    req: Request,
    framed: Framed<TcpStream, h1::Codec>,
) {
    let mut parts = framed.into_parts();
    // The HTTP connection's buffers are not the socket's: give their memory back now.
    drop(std::mem::take(&mut parts.write_buf));
    let read_buf = match std::mem::take(&mut parts.read_buf) {
        b if b.is_empty() => BytesMut::new(),
        b => b,
    };
    let mut io = parts.io;
    if req.path() != "/ws" {
        refuse(&mut io, "404 Not Found", "not_found", "not found").await;
        return;
    }
    if let Err(e) = actix_http::ws::verify_handshake(req.head()) {
        let message = format!("not a WebSocket handshake: {e}");
        refuse(&mut io, "400 Bad Request", "bad_request", &message).await;
        return;
    }
    let Some(key) = req
        .headers()
        .get(actix_http::header::SEC_WEBSOCKET_KEY)
        .map(|k| actix_http::ws::hash_key(k.as_bytes()))
    else {
        refuse(
            &mut io,
            "400 Bad Request",
            "bad_request",
            "no Sec-WebSocket-Key",
        )
        .await;
        return;
    };
    let mut head = Vec::with_capacity(160);
    head.extend_from_slice(
        b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\nsec-websocket-accept: ",
    );
    head.extend_from_slice(&key);
    head.extend_from_slice(b"\r\n\r\n");
    // The request's headers point into the HTTP connection's read buffer (8 KiB and more):
    // holding them for the socket's life would hold that buffer too.
    drop(req);
    match tokio::time::timeout(SEND_TIMEOUT, io.write_all(&head)).await {
        Ok(Ok(())) => {}
        _ => return,
    }
    // The kernel's send buffer would otherwise grow to megabytes for a peer that stops
    // reading (autotuning); a socket's news is a few small frames, so this is plenty and
    // a stall shows within a frame or two.
    let _ = socket2::SockRef::from(&io).set_send_buffer_size(SEND_BUFFER);
    // Each frame is news: no waiting for the peer's acknowledgement of the one before
    // (Nagle's algorithm and delayed ACKs would hold some frames back by 40 ms or more).
    let _ = io.set_nodelay(true);
    let conn = Rc::new(Conn::new(io));
    let id = worker.add(conn.clone());
    let mut socket = Socket {
        state,
        worker,
        conn,
        id,
        who: None,
        expires_at: None,
        subs: HashSet::new(),
    };
    socket.run(read_buf).await;
    socket.end().await;
}

/// Answer a request that cannot become a socket with the JSON error every endpoint uses.
async fn refuse(io: &mut TcpStream, status: &str, code: &str, message: &str) {
    let body = serde_json::json!({"error": {"code": code, "message": message}}).to_string();
    let head = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        io.write_all(head.as_bytes()).await?;
        io.write_all(body.as_bytes()).await?;
        io.shutdown().await
    })
    .await;
}

struct Socket {
    state: AppState,
    worker: Rc<Worker>,
    conn: Rc<Conn>,
    id: u64,
    who: Option<AuthUser>,
    /// When the token `who` came from expires (unix seconds): the identity and its private
    /// topics end then, unless a fresh token was sent before.
    expires_at: Option<i64>,
    /// The topics subscribed to, by name.
    subs: HashSet<String>,
}

impl Socket {
    async fn run(&mut self, mut buf: BytesMut) {
        let mut codec = Codec::new().max_size(protocol::MAX_CLIENT_FRAME);
        let conn = self.conn.clone();
        // Frames the client sent along with its handshake.
        if !buf.is_empty() && !self.read_frames(&mut codec, &mut buf).await {
            return;
        }
        loop {
            if conn.closing().is_some() {
                return;
            }
            let pending = conn.pending();
            tokio::select! {
                r = conn.io.readable() => {
                    if r.is_err() {
                        return;
                    }
                    buf.reserve(1024);
                    match conn.io.try_read_buf(&mut buf) {
                        Ok(0) => return,
                        Ok(_) => {
                            conn.heard();
                            if !self.read_frames(&mut codec, &mut buf).await {
                                return;
                            }
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                        Err(_) => return,
                    }
                    // An idle socket keeps no read buffer.
                    if buf.is_empty() {
                        buf = BytesMut::new();
                    }
                }
                r = conn.io.writable(), if pending => {
                    if r.is_err() || conn.flush().is_err() {
                        return;
                    }
                }
                _ = conn.wake.notified() => {}
                _ = until_unix(self.expires_at), if self.expires_at.is_some() => {
                    self.who = None;
                    self.expires_at = None;
                    self.drop_private();
                    self.reply(Reply::Error {
                        code: "token_expired",
                        message: "the access token expired: send a fresh one with {\"op\": \"auth\"}",
                        topic: None,
                    }.render());
                }
            }
        }
    }

    /// Handle every whole frame in `buf`. `false`: the socket is to close.
    async fn read_frames(&mut self, codec: &mut Codec, buf: &mut BytesMut) -> bool {
        loop {
            match codec.decode(buf) {
                Ok(Some(Frame::Text(bytes))) => {
                    let reply = match std::str::from_utf8(&bytes) {
                        Ok(text) => self.handle(text).await,
                        Err(_) => Some(bad_message()),
                    };
                    if let Some(r) = reply {
                        self.reply(r);
                    }
                }
                Ok(Some(Frame::Binary(_))) => self.reply(
                    Reply::Error {
                        code: "bad_message",
                        message: "send JSON text frames",
                        topic: None,
                    }
                    .render(),
                ),
                Ok(Some(Frame::Ping(p))) => self.conn.send(Slot::Each, &frame::pong(&p)),
                Ok(Some(Frame::Pong(_) | Frame::Continuation(_))) => {}
                Ok(Some(Frame::Close(_))) => {
                    self.conn.close(1000);
                    return false;
                }
                Ok(None) => return true,
                Err(e) => {
                    let code = if matches!(e, ProtocolError::Overflow) {
                        1009
                    } else {
                        1002
                    };
                    self.conn.close(code);
                    return false;
                }
            }
        }
    }

    fn reply(&self, text: String) {
        self.conn.send(Slot::Each, &frame::text(text.as_bytes()));
    }

    /// The socket is done: its subscriptions end, and it says goodbye if it can.
    async fn end(mut self) {
        let names: Vec<String> = self.subs.iter().cloned().collect();
        for name in names {
            self.unsubscribe(&name);
        }
        self.worker.remove(self.id);
        // Best effort and never blocking: a frame half-written cannot be followed by one.
        if !self.conn.pending() {
            let _ = self
                .conn
                .io
                .try_write(&frame::close(self.conn.closing().unwrap_or(1000)));
        }
        // A close that keeps what was written: the end of output (FIN) goes after it, and
        // the peer's last bytes are read away first, for a socket closed with unread input
        // is reset, and a reset peer may lose what it had not read yet.
        let Ok(conn) = Rc::try_unwrap(self.conn) else {
            return;
        };
        let mut io = conn.io;
        let _ = tokio::time::timeout(CLOSE_DRAIN, async {
            io.shutdown().await?;
            let mut sink = [0u8; 512];
            while io.read(&mut sink).await? > 0 {}
            Ok::<_, std::io::Error>(())
        })
        .await;
    }

    fn unsubscribe(&mut self, name: &str) {
        if !self.subs.remove(name) {
            return;
        }
        self.worker.unsubscribe(self.id, name);
        self.state.hub.unwatch(name);
        if let Some(topic) = Topic::parse(name) {
            count_watcher(&self.state, &topic, -1);
        }
    }

    /// End the private topics (`user:`, `dashboard:`): their identity is gone.
    fn drop_private(&mut self) {
        let private: Vec<String> = self
            .subs
            .iter()
            .filter(|t| super::hub::is_personal(t))
            .cloned()
            .collect();
        for t in private {
            self.unsubscribe(&t);
        }
    }

    async fn handle(&mut self, text: &str) -> Option<String> {
        let msg: ClientMsg = match serde_json::from_str(text) {
            Ok(m) => m,
            Err(_) => return Some(bad_message()),
        };
        match msg {
            ClientMsg::Ping => Some(
                Reply::Pong {
                    server_time: self.state.clock.now().and_utc(),
                }
                .render(),
            ),
            ClientMsg::Auth { token } => {
                let verified = self
                    .state
                    .jwt
                    .verify(&token)
                    .ok()
                    .filter(|c| !self.state.revoked.contains(c.sub));
                match verified {
                    Some(c) => {
                        self.who = Some(AuthUser {
                            id: c.sub,
                            role: c.role,
                            verified: c.ev,
                        });
                        self.expires_at = Some(c.exp);
                        Some(
                            Reply::Ack {
                                op: "auth",
                                topic: None,
                            }
                            .render(),
                        )
                    }
                    None => {
                        // A refused token ends the earlier identity too, and with it the
                        // private topics it was allowed (`user:`, `dashboard:`).
                        self.who = None;
                        self.expires_at = None;
                        self.drop_private();
                        Some(
                            Reply::Error {
                                code: "unauthorized",
                                message: "invalid or expired access token",
                                topic: None,
                            }
                            .render(),
                        )
                    }
                }
            }
            ClientMsg::Unsubscribe { topic } => {
                self.unsubscribe(&topic);
                Some(
                    Reply::Ack {
                        op: "unsubscribe",
                        topic: Some(&topic),
                    }
                    .render(),
                )
            }
            ClientMsg::Subscribe { topic } => Some(self.subscribe(topic).await),
        }
    }

    async fn subscribe(&mut self, name: String) -> String {
        let err = |code: &'static str, message: &'static str| {
            Reply::Error {
                code,
                message,
                topic: Some(&name),
            }
            .render()
        };
        let ack = || {
            Reply::Ack {
                op: "subscribe",
                topic: Some(&name),
            }
            .render()
        };
        let Some(topic) = Topic::parse(&name) else {
            return err(
                "unknown_topic",
                "topics are drop:<id>, raffle:<id>, user:<id> or dashboard:<storefront id>",
            );
        };
        if self.subs.contains(&name) {
            return ack();
        }
        if self.subs.len() >= MAX_TOPICS {
            return err("too_many_topics", "unsubscribe from something first");
        }
        let state = self.state.clone();
        match &topic {
            Topic::Drop(_) | Topic::Raffle(_) => {
                // Counted first, so the hub keeps the topic's newest state from now on:
                // what it holds after the read below is at least as new as the read.
                state.hub.watch(&name);
                let latest = match state.hub.latest(&name) {
                    Some(l) => Some(l),
                    None => match read_state(&state, &topic).await {
                        Ok(v) => Some(state.hub.seed(&name, v)),
                        Err(AppError::NotFound) => None,
                        Err(_) => {
                            state.hub.unwatch(&name);
                            return err("service_unavailable", "try again shortly");
                        }
                    },
                };
                let shown = latest
                    .filter(|(_, s)| s.get("status").and_then(|v| v.as_str()) != Some("draft"));
                let Some((seq, data)) = shown else {
                    state.hub.unwatch(&name);
                    let what = if matches!(topic, Topic::Drop(_)) {
                        "no such drop"
                    } else {
                        "no such raffle"
                    };
                    return err("not_found", what);
                };
                // The snapshot tells the time of now, not of the state's last change: a
                // countdown sets itself by it.
                let mut data = (*data).clone();
                let now = state.clock.now().and_utc();
                if let Some(obj) = data.as_object_mut() {
                    obj.insert("server_time".into(), serde_json::json!(now));
                }
                let snapshot = protocol::frame(&name, "snapshot", &data);
                // The snapshot and the subscription are one step on this thread: every
                // update the worker writes later is newer than the snapshot or skipped.
                self.conn
                    .send(Slot::Each, &frame::text(snapshot.as_bytes()));
                self.worker
                    .subscribe(self.id, Arc::from(name.as_str()), seq);
            }
            Topic::User(id) => {
                if self.who.map(|w| w.id) != Some(*id) {
                    return err("forbidden", "authenticate as this user first");
                }
                state.hub.watch(&name);
                self.worker.subscribe(self.id, Arc::from(name.as_str()), 0);
            }
            Topic::Dashboard(sf) => {
                let Some(w) = self.who else {
                    return err("forbidden", "authenticate as the storefront's owner first");
                };
                match drop_model::storefront_owner(&state.store, *sf).await {
                    Ok(Some(owner)) if owner == w.id || w.is_admin() => {}
                    Ok(_) => {
                        return err("forbidden", "only the owner and admins see this dashboard")
                    }
                    Err(_) => return err("service_unavailable", "try again shortly"),
                }
                let data = match state.registry.dashboard(*sf).await {
                    Ok(d) => serde_json::to_value(d).unwrap_or_default(),
                    Err(_) => return err("service_unavailable", "try again shortly"),
                };
                state.hub.watch(&name);
                let snapshot = protocol::frame(&name, "snapshot", &data);
                self.conn
                    .send(Slot::Each, &frame::text(snapshot.as_bytes()));
                self.worker.subscribe(self.id, Arc::from(name.as_str()), 0);
            }
        }
        count_watcher(&state, &topic, 1);
        self.subs.insert(name.clone());
        ack()
    }
}

/// A drop's or raffle's actor counts the sockets watching it (`delta` is +1 or -1).
fn count_watcher(state: &AppState, topic: &Topic, delta: i64) {
    match topic {
        Topic::Drop(id) => {
            if let Some(addr) = state.registry.loaded(*id) {
                addr.do_send(Watchers { delta });
            }
        }
        Topic::Raffle(id) => state.registry.raffle_watchers(*id, delta),
        Topic::User(_) | Topic::Dashboard(_) => {}
    }
}

/// A public topic's state from its actor (the hub had none yet).
async fn read_state(state: &AppState, topic: &Topic) -> Result<serde_json::Value, AppError> {
    match topic {
        Topic::Drop(id) => {
            Ok(serde_json::to_value(state.registry.state(*id).await?).unwrap_or_default())
        }
        Topic::Raffle(id) => {
            Ok(serde_json::to_value(state.registry.raffle_state(*id).await?).unwrap_or_default())
        }
        _ => Err(AppError::NotFound),
    }
}

fn bad_message() -> String {
    Reply::Error {
        code: "bad_message",
        message: "expected {\"op\": \"auth\"|\"subscribe\"|\"unsubscribe\"|\"ping\", …}",
        topic: None,
    }
    .render()
}

/// Sleep until the unix time `at` (at once if it has passed).
async fn until_unix(at: Option<i64>) {
    let left = at.unwrap_or(0) - chrono::Utc::now().timestamp();
    if left > 0 {
        tokio::time::sleep(Duration::from_secs(left as u64)).await;
    }
}
