pub mod actor;
pub mod messages;

pub use actor::DropActor;
pub use messages::*;
