//! The admin console's own endpoints (raffle draws live with the raffles).

pub mod storefronts;
pub mod users;

use crate::error::{AppError, AppResult};

/// An admin search's text (trimmed, lower case, at most 254 characters) and page size (1
/// to 200, default 50).
pub fn search_terms(q: Option<&str>, limit: Option<i64>) -> AppResult<(String, i64)> {
    let limit = limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(AppError::field("limit", "must be from 1 to 200"));
    }
    let text = q.unwrap_or("").trim().to_lowercase();
    if text.chars().count() > 254 {
        return Err(AppError::field("q", "is too long"));
    }
    Ok((text, limit))
}
