use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::send_link;
use crate::auth::AuthUser;
use crate::db::models::token::{self, Effect, Purpose};
use crate::db::models::user;
use crate::error::{AppError, AppResult};
use crate::http::extract::Json;
use crate::ratelimit;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct VerifyForm {
    /// The `token` of the link in the verification mail.
    pub token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VerifiedView {
    pub verified: bool,
}

/// Confirm an email address with the token from the mailed link. Access tokens issued
/// before carry the old state; refresh the session to get one that says verified.
#[utoipa::path(post, path = "/api/auth/verify", tag = "auth", request_body = VerifyForm,
    responses((status = 200, body = VerifiedView), (status = 404, description = "`invalid_link`: the link is unknown, used or expired")))]
pub async fn verify(state: web::Data<AppState>, form: Json<VerifyForm>) -> AppResult<HttpResponse> {
    token::consume_email_token(&state.store, &form.token, Effect::VerifyEmail)
        .await
        .map_err(|e| match e {
            AppError::InvalidToken => AppError::UnknownLink,
            e => e,
        })?;
    Ok(HttpResponse::Ok().json(VerifiedView { verified: true }))
}

/// Send the verification mail again to the signed-in user.
#[utoipa::path(post, path = "/api/auth/verify/resend", tag = "auth", security(("bearer" = [])),
    responses((status = 202, description = "sent"), (status = 409, description = "`already_verified`"),
        (status = 429, description = "`rate_limited`")))]
pub async fn resend(state: web::Data<AppState>, who: AuthUser) -> AppResult<HttpResponse> {
    let u = user::find(&state.store, who.id)
        .await?
        .ok_or(AppError::Unauthorized("the account no longer exists"))?;
    if u.verified() {
        return Err(AppError::conflict(
            "already_verified",
            "this email is already verified",
        ));
    }
    ratelimit::check(
        state.limiter.as_ref(),
        &format!("mail:{}", u.email),
        state.config.rate_limits.mail_email,
    )
    .await?;
    send_link(&state, &u, Purpose::Verify).await?;
    Ok(HttpResponse::Accepted().finish())
}
