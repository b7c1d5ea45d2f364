pub mod actor;
pub mod messages;

pub use actor::{stats, DropActor};
pub use messages::*;
