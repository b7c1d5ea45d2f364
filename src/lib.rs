//! livedrop: a real-time commerce engine for creators.
//!
//! A map of the crate (the layout is the map; see DESIGN.md):
//!
//! * [`config`]    – one typed configuration struct read from the environment.
//! * [`error`]     – `AppError`, the one error type, and the error policy.
//! * [`state`]     – `AppState`: the parts (store, bus, mail queue, limiter) chosen at start-up.
//! * [`server`]    – building and running the HTTP server (used by `main` and the tests).
//! * [`telemetry`] – logging and Prometheus metrics.
//! * [`http`]      – the route table (`http/mod.rs`) and one file per endpoint.
//! * [`auth`]      – password hashing, JWT access tokens, request extractors.
//! * [`domain`]    – pure logic: ids, money, validation, product kinds, draws, analytics.
//! * [`db`]        – connection pools, migrations, `schema.rs`, and the model functions.
//! * [`actors`]    – per-drop, per-raffle and per-storefront actors and their registry.
//! * [`drops`]     – what follows a drop's cancellation (release, tell holders).
//! * [`analytics`] – the events the server records itself (holds, checkouts, purchases).
//! * [`clock`]     – the business clock (system time; tests move it forward).
//! * [`bus`]       – event fan-out: in-process or Redis pub/sub.
//! * [`mail`]      – outgoing mail: a queue in the store, delivered to the `.eml` outbox or SMTP.
//! * [`payments`]  – the PaymentProvider trait, the test provider, webhook signatures.
//! * [`ratelimit`] – fixed-window limits: in-process or Redis.
//! * [`ws`]        – the WebSocket feed: protocol, topic hub, sessions.
//! * [`demo`]      – the demo storefront seeded in embedded mode.

#![deny(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod actors;
pub mod analytics;
pub mod auth;
pub mod bus;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod drops;
pub mod error;
pub mod http;
pub mod mail;
pub mod payments;
pub mod raffle;
pub mod ratelimit;
pub mod server;
pub mod state;
pub mod telemetry;
pub mod ws;
