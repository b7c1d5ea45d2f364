//! The admin console's own endpoints (raffle draws live with the raffles).

pub mod storefronts;
pub mod users;
