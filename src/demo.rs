//! The demo storefront seeded in embedded mode, so `cargo run --release` shows something.

use crate::state::AppState;

pub const SLUG: &str = "demo";
pub const CREATOR_EMAIL: &str = "creator@demo.livedrop.local";
pub const BUYER_EMAIL: &str = "buyer@demo.livedrop.local";
/// Printed at start; the demo runs on the operator's own machine.
pub const PASSWORD: &str = "demo-password-1";

/// Seed the demo creator, buyer and storefront unless a storefront already exists.
pub async fn seed_if_empty(_state: &AppState) -> crate::error::AppResult<()> {
    Ok(())
}
