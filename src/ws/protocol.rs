//! Messages on the socket.
//!
//! Client → server: `{"op":"auth","token":…}`, `{"op":"subscribe","topic":…}`,
//! `{"op":"unsubscribe","topic":…}`, `{"op":"ping"}`.
//! Server → client: `{"topic","type":"snapshot"|"update","seq","server_time","data"}`, and
//! `{"type":"ack"|"error"|"pong", …}`. A malformed or unknown message gets an error frame and
//! the connection stays open.

use serde::{Deserialize, Serialize};

/// The largest frame a client may send; every client message is tiny.
pub const MAX_CLIENT_FRAME: usize = 8 * 1024;

#[derive(Debug, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ClientMsg {
    Auth { token: String },
    Subscribe { topic: String },
    Unsubscribe { topic: String },
    Ping,
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Reply<'a> {
    Ack {
        op: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        topic: Option<&'a str>,
    },
    Error {
        code: &'a str,
        message: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        topic: Option<&'a str>,
    },
    Pong {
        server_time: chrono::DateTime<chrono::Utc>,
    },
}

impl Reply<'_> {
    pub fn render(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }
}

/// A topic a client may name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Topic {
    Drop(crate::domain::ids::DropId),
    User(crate::domain::ids::UserId),
    Dashboard(crate::domain::ids::StorefrontId),
    Raffle(crate::domain::ids::RaffleId),
}

impl Topic {
    pub fn parse(s: &str) -> Option<Topic> {
        let (kind, id) = s.split_once(':')?;
        match kind {
            "drop" => crate::domain::ids::DropId::parse(id).map(Topic::Drop),
            "user" => crate::domain::ids::UserId::parse(id).map(Topic::User),
            "dashboard" => crate::domain::ids::StorefrontId::parse(id).map(Topic::Dashboard),
            "raffle" => crate::domain::ids::RaffleId::parse(id).map(Topic::Raffle),
            _ => None,
        }
    }

    pub fn name(&self) -> String {
        match self {
            Topic::Drop(id) => format!("drop:{id}"),
            Topic::User(id) => format!("user:{id}"),
            Topic::Dashboard(id) => format!("dashboard:{id}"),
            Topic::Raffle(id) => format!("raffle:{id}"),
        }
    }
}

/// Render a state message once, for every socket that gets it.
pub fn frame(topic: &str, kind: &str, data: &serde_json::Value) -> String {
    let seq = data.get("seq").cloned().unwrap_or(serde_json::Value::Null);
    let server_time = data
        .get("server_time")
        .cloned()
        .unwrap_or_else(|| serde_json::json!(chrono::Utc::now()));
    serde_json::json!({
        "topic": topic,
        "type": kind,
        "seq": seq,
        "server_time": server_time,
        "data": data,
    })
    .to_string()
}
