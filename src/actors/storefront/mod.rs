//! The storefront actor: live analytics of one storefront on this node.
pub mod actor;
pub mod messages;

pub use actor::StorefrontActor;
pub use messages::*;
