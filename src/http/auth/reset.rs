use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::send_link;
use crate::auth::password;
use crate::db::models::token::{self, Effect, Purpose};
use crate::db::models::user;
use crate::domain::validate;
use crate::error::{AppError, AppResult};
use crate::http::extract::Json;
use crate::ratelimit;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct ForgotForm {
    pub email: String,
}

/// Ask for a password-reset mail. Always 202, whether or not the email has an account,
/// so the endpoint cannot be used to find out who does.
#[utoipa::path(post, path = "/api/auth/password/forgot", tag = "auth", request_body = ForgotForm,
    responses((status = 202, description = "a mail is on its way if the account exists"),
        (status = 429, description = "`rate_limited`")))]
pub async fn forgot(state: web::Data<AppState>, form: Json<ForgotForm>) -> AppResult<HttpResponse> {
    let Ok(email) = validate::email(&form.email) else {
        return Ok(HttpResponse::Accepted().finish());
    };
    ratelimit::check(
        state.limiter.as_ref(),
        &format!("mail:{email}"),
        state.config.rate_limits.mail_email,
    )
    .await?;
    // The lookup, the token and the mail happen after the answer, so the answer takes the
    // same time whether or not the email has an account (it was 1.6 ms against 1.1 ms).
    let state = state.clone();
    actix_web::rt::spawn(async move {
        let sent = match user::find_by_email(&state.store, &email).await {
            Ok(Some(u)) => send_link(&state, &u, Purpose::Reset).await,
            Ok(None) => Ok(()),
            Err(e) => Err(e),
        };
        if let Err(e) = sent {
            tracing::warn!(error = %e, "password reset mail not sent");
        }
    });
    Ok(HttpResponse::Accepted().finish())
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ResetForm {
    /// The `token` of the link in the reset mail.
    pub token: String,
    /// 10 to 256 characters.
    #[schema(min_length = 10, max_length = 256)]
    pub password: String,
}

/// Set a new password with the token from the mailed link. Every earlier session of the
/// account ends, and the one who reset it is signed in: the answer is a new session, as
/// from `POST /api/auth/login` (a disabled account gets its password changed but no
/// session: 403). The mailed link is a credential exchanged here for a session (see the
/// `mailLink` security scheme).
#[utoipa::path(post, path = "/api/auth/password/reset", tag = "auth", request_body = ResetForm,
    responses((status = 200, body = super::SessionView, description = "password changed; a new session"),
        (status = 400, description = "`invalid_token`: the link is unknown, used or expired"),
        (status = 403, description = "`forbidden`: the account is disabled"),
        (status = 422, description = "`validation_failed`"), (status = 429, description = "`rate_limited`")))]
pub async fn reset(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    form: Json<ResetForm>,
) -> AppResult<HttpResponse> {
    let form = form.into_inner();
    validate::password(&form.password).map_err(|m| AppError::field("password", m))?;
    let ip = crate::http::auth::client_ip(&req, &state);
    ratelimit::check(
        state.limiter.as_ref(),
        &format!("reset:ip:{ip}"),
        state.config.rate_limits.login_ip,
    )
    .await?;
    // The token first: hashing (argon2, ~19 MiB and tens of ms) is only spent on a request
    // that can succeed.
    if form.token.len() > 256
        || !token::email_token_is_live(&state.store, &form.token, Purpose::Reset).await?
    {
        return Err(AppError::InvalidToken);
    }
    let hash = password::hash(form.password).await?;
    let id =
        token::consume_email_token(&state.store, &form.token, Effect::SetPassword(hash)).await?;
    let u = user::find(&state.store, id)
        .await?
        .ok_or(AppError::InvalidToken)?;
    if user::is_disabled(&state.store, u.id).await? {
        return Err(AppError::Forbidden("this account is disabled"));
    }
    Ok(HttpResponse::Ok().json(super::new_session(&state, &u).await?))
}
