//! Pure logic: no I/O, no clock reads (callers pass `now`).

pub mod account;
pub mod analytics;
pub mod blocks;
pub mod draw;
pub mod drop;
pub mod html;
pub mod ids;
pub mod live;
pub mod money;
pub mod product;
pub mod raffle;
pub mod sale;
pub mod split;
pub mod validate;
