//! Storefronts, for admins: find one (by slug, title or owner's email) and take it down
//! for abuse (`POST /api/storefronts/{id}/unpublish`, which admins may call too).

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::AuthUser;
use crate::db::models::storefront as model;
use crate::domain::ids::{StorefrontId, UserId};
use crate::error::AppResult;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminStorefrontView {
    pub id: StorefrontId,
    pub slug: String,
    pub title: String,
    /// `draft` or `published`.
    pub status: String,
    pub owner_id: UserId,
    pub owner_email: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminStorefrontList {
    pub storefronts: Vec<AdminStorefrontView>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct StorefrontQuery {
    /// Part of the slug, the title or the owner's email.
    #[param(max_length = 254)]
    pub q: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// Storefronts matching `q`, newest first (admins).
#[utoipa::path(get, path = "/api/admin/storefronts", tag = "admin", security(("bearer" = [])),
    params(StorefrontQuery),
    responses((status = 200, body = AdminStorefrontList), (status = 403, description = "`forbidden`"),
        (status = 422, description = "`validation_failed`")))]
pub async fn list(
    state: web::Data<AppState>,
    who: AuthUser,
    q: web::Query<StorefrontQuery>,
) -> AppResult<HttpResponse> {
    who.require_admin()?;
    let (text, limit) = super::search_terms(q.q.as_deref(), q.limit)?;
    let rows = model::search(&state.store, &text, limit).await?;
    Ok(HttpResponse::Ok().json(AdminStorefrontList {
        storefronts: rows
            .into_iter()
            .map(|(s, owner_email)| AdminStorefrontView {
                id: s.id,
                slug: s.slug,
                title: s.title,
                status: s.status,
                owner_id: s.owner_id,
                owner_email,
                created_at: s.created_at.and_utc(),
            })
            .collect(),
    }))
}
