//! Actors hold the hot, scarce state: one per live or scheduled drop per node, started on
//! first use by the [`registry::Registry`] and stopped when idle. Each is a write-combiner:
//! it batches what arrives while the previous batch commits, commits the batch in one
//! transaction, then answers everyone in it. See DESIGN.md, "Actors".

pub mod drop;
pub mod janitor;
pub mod raffle;
pub mod registry;
pub mod storefront;
