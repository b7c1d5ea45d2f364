use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{client_ip, new_session, send_link, SessionView};
use crate::auth::{password, Role};
use crate::db::models::token::Purpose;
use crate::db::models::{now, user};
use crate::domain::ids::UserId;
use crate::domain::validate::{self, Check};
use crate::error::AppResult;
use crate::http::extract::Json;
use crate::ratelimit;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterForm {
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// 10 to 256 characters.
    #[schema(min_length = 10, max_length = 256)]
    pub password: String,
    /// `buyer` or `creator`; admins are made with `livedrop admin create`.
    #[schema(value_type = SignupRole)]
    pub role: String,
}

/// The roles one can sign up with.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)] // documentation only: the form reads a string and says which are valid
pub enum SignupRole {
    Buyer,
    Creator,
}

/// Create an account and send the verification mail.
// The form is inlined: schemathesis 4.32.5's sign-up bootstrap reads `properties` from the
// body schema itself and fails on a `$ref`.
#[utoipa::path(post, path = "/api/auth/register", tag = "auth",
    request_body(content = inline(RegisterForm), content_type = "application/json"),
    responses(
        (status = 201, body = SessionView),
        (status = 409, description = "`email_taken`"),
        (status = 422, description = "`validation_failed`"),
        (status = 429, description = "`rate_limited`"),
    ))]
pub async fn register(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: Json<RegisterForm>,
) -> AppResult<HttpResponse> {
    let form = form.into_inner();
    let mut check = Check::new();
    let email = check.take("email", validate::email(&form.email));
    check.take("password", validate::password(&form.password));
    let role = match form.role.as_str() {
        "buyer" => Some(Role::Buyer),
        "creator" => Some(Role::Creator),
        _ => {
            check.fail("role", "must be `buyer` or `creator`");
            None
        }
    };
    check.finish()?;
    let (Some(email), Some(role)) = (email, role) else {
        return Err(crate::error::AppError::Internal);
    };
    let ip = client_ip(&req, &state);
    ratelimit::check(
        state.limiter.as_ref(),
        &format!("register:ip:{ip}"),
        state.config.rate_limits.register_ip,
    )
    .await?;

    let hash = password::hash(form.password).await?;
    let t = now();
    let u = user::User {
        id: UserId::new(),
        email,
        password_hash: hash,
        role: role.as_str().into(),
        email_verified_at: None,
        created_at: t,
        updated_at: t,
    };
    user::insert(&state.store, &u).await?;
    // The account is committed; a mail that cannot be queued (the store went away just
    // now) must not undo it. The user can ask for another mail (`/api/auth/verify/resend`).
    // A relay that is down is no failure here: the mail waits in the queue.
    if let Err(e) = send_link(&state, &u, Purpose::Verify).await {
        tracing::warn!(user = %u.id, error = %e, "verification mail not sent");
    }
    let session = new_session(&state, &u).await?;
    Ok(HttpResponse::Created().json(session))
}
