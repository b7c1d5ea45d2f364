use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{client_ip, new_session, SessionView};
use crate::auth::password;
use crate::db::models::user;
use crate::error::{AppError, AppResult};
use crate::http::extract::Json;
use crate::ratelimit;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginForm {
    pub email: String,
    pub password: String,
}

/// Sign in. An unknown email and a wrong password get the same answer, in the same time.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = LoginForm,
    responses(
        (status = 200, body = SessionView),
        (status = 401, description = "`invalid_credentials`"),
        (status = 429, description = "`rate_limited`, with Retry-After"),
    ))]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: Json<LoginForm>,
) -> AppResult<HttpResponse> {
    let form = form.into_inner();
    // Normalised the same way as at registration, but without refusing odd input: an
    // address we could never have stored simply does not match.
    let email = form.email.trim().to_lowercase();
    if email.len() > 254 || form.password.chars().count() > 256 {
        return Err(AppError::InvalidCredentials);
    }
    let ip = client_ip(&req, &state);
    let limits = &state.config.rate_limits;
    ratelimit::check(
        state.limiter.as_ref(),
        &format!("login:ip:{ip}"),
        limits.login_ip,
    )
    .await?;
    ratelimit::check(
        state.limiter.as_ref(),
        &format!("login:email:{email}"),
        limits.login_email,
    )
    .await?;

    let Some(u) = user::find_by_email(&state.store, &email).await? else {
        password::verify_unknown(form.password).await?;
        return Err(AppError::InvalidCredentials);
    };
    if !password::verify(form.password, u.password_hash.clone()).await? {
        return Err(AppError::InvalidCredentials);
    }
    // Told only to someone who knows the password.
    if user::is_disabled(&state.store, u.id).await? {
        return Err(AppError::Forbidden("this account is disabled"));
    }
    Ok(HttpResponse::Ok().json(new_session(&state, &u).await?))
}
