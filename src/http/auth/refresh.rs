use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{session, SessionView};
use crate::db::models::token;
use crate::error::AppResult;
use crate::http::extract::Json;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct RefreshForm {
    pub refresh_token: String,
}

/// Trade a refresh token for a new session. The token is rotated: the old one stops
/// working, and presenting it again revokes every token of that session.
#[utoipa::path(post, path = "/api/auth/refresh", tag = "auth", request_body = RefreshForm,
    responses(
        (status = 200, body = SessionView),
        (status = 401, description = "`unauthorized`: unknown, expired, revoked or reused"),
    ))]
pub async fn refresh(
    state: web::Data<AppState>,
    form: Json<RefreshForm>,
) -> AppResult<HttpResponse> {
    let (user, next) = token::rotate(&state.store, &form.refresh_token).await?;
    Ok(HttpResponse::Ok().json(session(&state, &user, next)?))
}
