//! Holds: a buyer's reservation of units in a live drop.

pub mod create;
pub mod delete;
