//! Whether a storefront address can be had, for the studio's live check.

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::models::storefront as model;
use crate::error::AppResult;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct SlugCheck {
    pub slug: String,
    pub available: bool,
    /// Why not, when it is not: `taken`, or what is wrong with its shape.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Can a storefront have this address? (Creating it is the real test: two creators may
/// ask at once.)
#[utoipa::path(get, path = "/api/slugs/{slug}", tag = "storefronts", params(("slug" = String, Path)),
    responses((status = 200, body = SlugCheck)))]
pub async fn check(state: web::Data<AppState>, slug: web::Path<String>) -> AppResult<HttpResponse> {
    let raw = slug.into_inner().to_lowercase();
    let (available, reason) = match crate::domain::validate::slug(&raw) {
        Err(why) => (false, Some(why)),
        Ok(s) => match model::find_by_slug(&state.store, &s).await? {
            Some(_) => (false, Some("taken".to_string())),
            None => (true, None),
        },
    };
    Ok(HttpResponse::Ok().json(SlugCheck {
        slug: raw,
        available,
        reason,
    }))
}
