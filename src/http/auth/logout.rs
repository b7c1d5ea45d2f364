use actix_web::{web, HttpResponse};

use super::refresh::RefreshForm;
use crate::db::models::token;
use crate::error::AppResult;
use crate::http::extract::Json;
use crate::state::AppState;

/// End the session the refresh token belongs to. Idempotent. The access token stays
/// valid until it expires (at most 15 minutes): that is the price of stateless tokens.
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth", request_body = RefreshForm,
    responses((status = 204, description = "the session is ended")))]
pub async fn logout(
    state: web::Data<AppState>,
    form: Json<RefreshForm>,
) -> AppResult<HttpResponse> {
    token::revoke_family_of(&state.store, &form.refresh_token).await?;
    Ok(HttpResponse::NoContent().finish())
}
