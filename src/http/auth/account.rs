use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::{password, AuthUser};
use crate::db::models::{privacy, user};
use crate::error::{AppError, AppResult};
use crate::http::extract::Json;
use crate::state::AppState;

/// Everything the service keeps about you, as one JSON document: the account, your
/// storefronts, orders, holds, queue tickets, raffle entries and tickets, sessions.
#[utoipa::path(get, path = "/api/me/export", tag = "auth", security(("bearer" = [])),
    responses((status = 200, description = "the export (JSON)"), (status = 401, description = "`unauthorized`")))]
pub async fn export(state: web::Data<AppState>, who: AuthUser) -> AppResult<HttpResponse> {
    let doc = privacy::export(&state.store, who.id, state.clock.now())
        .await
        .map_err(|e| match e {
            AppError::NotFound => AppError::Unauthorized("the account no longer exists"),
            e => e,
        })?;
    Ok(HttpResponse::Ok()
        .insert_header((
            "content-disposition",
            "attachment; filename=\"livedrop-account.json\"",
        ))
        .json(doc))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteAccountForm {
    /// The account's password, to confirm.
    pub password: String,
}

/// Delete your account. Your orders stay, anonymised, for the sellers' accounting; your
/// email, password and sessions are gone and your storefronts are taken down.
#[utoipa::path(delete, path = "/api/me", tag = "auth", security(("bearer" = [])),
    request_body = DeleteAccountForm,
    responses((status = 204, description = "deleted"),
        (status = 401, description = "`invalid_credentials`: wrong password"),
        (status = 429, description = "`rate_limited`")))]
pub async fn delete(
    state: web::Data<AppState>,
    who: AuthUser,
    form: Json<DeleteAccountForm>,
) -> AppResult<HttpResponse> {
    // A password guess costs an argon2 run: limited like sign-in attempts, per account.
    crate::ratelimit::check(
        state.limiter.as_ref(),
        &format!("login:email:{}", who.id),
        state.config.rate_limits.login_email,
    )
    .await?;
    let u = user::find(&state.store, who.id)
        .await?
        .ok_or(AppError::Unauthorized("the account no longer exists"))?;
    if !password::verify(form.into_inner().password, u.password_hash).await? {
        return Err(AppError::InvalidCredentials);
    }
    let (secret, _) = crate::auth::opaque_token();
    let unusable = password::hash(secret).await?;
    privacy::delete_account(&state.store, who.id, unusable, state.clock.now()).await?;
    // Its access tokens die now on every node, not when they expire.
    state.revoked.announce(state.bus.as_ref(), who.id).await;
    Ok(HttpResponse::NoContent().finish())
}
