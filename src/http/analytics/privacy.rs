use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::readable;
use crate::auth::AuthUser;
use crate::db::models::analytics as model;
use crate::error::AppResult;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct Deleted {
    /// Raw events deleted (rollups and top lists go with them).
    pub events: usize,
}

/// Delete a storefront's analytics: every raw event, rollup and top value. Orders and
/// holds are not analytics and stay. Owner or admin.
#[utoipa::path(delete, path = "/api/storefronts/{id}/analytics", tag = "analytics", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Deleted), (status = 404, description = "`not_found`")))]
pub async fn delete(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let sf = readable(&state, &who, &id).await?;
    // Write what this node holds first, so nothing counted before the request survives it.
    state.registry.flush_analytics(sf.id).await?;
    let events = model::delete_all(&state.store, sf.id).await?;
    state.registry.forget_analytics(sf.id).await;
    Ok(HttpResponse::Ok().json(Deleted { events }))
}
