//! Black-box tests: a real server on port 0, spoken to over HTTP (and WebSocket).
//! One test binary with a module per feature (STYLE.md §8).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod smtp;
mod support;

mod admin;
mod analytics;
mod auth;
mod binary;
mod checkout;
mod cluster;
mod concurrency;
mod drops;
mod fanout;
mod faults;
mod hot_drop;
mod isolation;
mod layers;
mod lease;
mod limits;
mod live;
mod mail;
mod memory;
mod models;
mod money;
mod ops;
mod orders;
mod payouts;
mod promises;
mod queue;
mod raffles;
mod reconcile;
mod recovery;
mod sales;
mod storefronts;
mod stripe;
mod studio;
