//! Accounts: register, login, refresh, logout, email verification, password reset.

pub mod account;
pub mod login;
pub mod logout;
pub mod me;
pub mod refresh;
pub mod register;
pub mod reset;
pub mod verify;

use actix_web::HttpRequest;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::{Role, ACCESS_TTL_SECS};
use crate::db::models::token::{self, Purpose};
use crate::db::models::user::User;
use crate::domain::ids::UserId;
use crate::error::AppResult;
use crate::mail::Mail;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: UserId,
    pub email: String,
    pub role: Role,
    pub email_verified: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        UserView {
            id: u.id,
            email: u.email.clone(),
            role: u.role(),
            email_verified: u.verified(),
            created_at: u.created_at.and_utc(),
        }
    }
}

/// A session: a short-lived access token and the refresh token that renews it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    pub user: UserView,
}

/// An access token for `user` as they are now in the store.
pub fn access_token(state: &AppState, user: &User) -> AppResult<String> {
    state.jwt.issue(
        user.id,
        user.role(),
        user.verified(),
        chrono::Utc::now().timestamp(),
    )
}

/// A session with an existing refresh token (after rotation).
pub fn session(state: &AppState, user: &User, refresh_token: String) -> AppResult<SessionView> {
    Ok(SessionView {
        access_token: access_token(state, user)?,
        refresh_token,
        token_type: "Bearer",
        expires_in: ACCESS_TTL_SECS,
        user: UserView::from(user),
    })
}

/// A new session family for `user`.
pub async fn new_session(state: &AppState, user: &User) -> AppResult<SessionView> {
    let refresh = token::start_session(&state.store, user.id).await?;
    session(state, user, refresh)
}

/// The client's address for per-IP limits: the peer, or `X-Forwarded-For`'s first hop
/// when `TRUST_PROXY_HEADERS` says a load balancer we run sets it.
pub fn client_ip(req: &HttpRequest, state: &AppState) -> String {
    let info = req.connection_info();
    let ip = if state.config.trust_proxy_headers {
        info.realip_remote_addr().map(str::to_string)
    } else {
        req.peer_addr().map(|a| a.ip().to_string())
    };
    ip.unwrap_or_else(|| "unknown".into())
}

/// Make a token for a mailed link and queue the mail. The token row is committed before
/// the mail is queued, so a link in a delivered mail always works.
pub async fn send_link(state: &AppState, user: &User, purpose: Purpose) -> AppResult<()> {
    let token = token::create_email_token(&state.store, user.id, purpose).await?;
    let base = &state.config.public_url;
    let mail = match purpose {
        Purpose::Verify => {
            let link = format!("{base}/verify?token={token}");
            Mail {
                to: user.email.clone(),
                subject: "Confirm your email for livedrop".into(),
                text: format!(
                    "Welcome to livedrop!\n\nConfirm your email address by opening this link:\n\n{link}\n\nThe link works once and expires in 24 hours. If you did not sign up, ignore this mail.\n"
                ),
                html: None,
            }
        }
        Purpose::Reset => {
            let link = format!("{base}/reset?token={token}");
            Mail {
                to: user.email.clone(),
                subject: "Reset your livedrop password".into(),
                text: format!(
                    "Someone asked to reset the password of your livedrop account.\n\nChoose a new password here:\n\n{link}\n\nThe link works once and expires in 1 hour. If it was not you, ignore this mail: your password stays as it is.\n"
                ),
                html: None,
            }
        }
    };
    state.mail(mail).await
}
