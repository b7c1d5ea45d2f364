//! Accounts, for admins: find them, disable an abusive one (it cannot sign in, its
//! tokens are refused on every node at once), enable it again.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::AuthUser;
use crate::db::models::user::{self, User};
use crate::domain::ids::UserId;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminUserView {
    pub id: UserId,
    pub email: String,
    pub role: String,
    pub email_verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl AdminUserView {
    fn new(u: &User, disabled_at: Option<chrono::NaiveDateTime>) -> Self {
        AdminUserView {
            id: u.id,
            email: u.email.clone(),
            role: u.role.clone(),
            email_verified: u.email_verified_at.is_some(),
            disabled_at: disabled_at.map(|t| t.and_utc()),
            created_at: u.created_at.and_utc(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminUserList {
    pub users: Vec<AdminUserView>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct UserQuery {
    /// Part of the email address.
    #[param(max_length = 254)]
    pub q: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// Accounts whose email contains `q`, newest first (admins).
#[utoipa::path(get, path = "/api/admin/users", tag = "admin", security(("bearer" = [])),
    params(UserQuery),
    responses((status = 200, body = AdminUserList), (status = 403, description = "`forbidden`"),
        (status = 422, description = "`validation_failed`")))]
pub async fn list(
    state: web::Data<AppState>,
    who: AuthUser,
    q: web::Query<UserQuery>,
) -> AppResult<HttpResponse> {
    who.require_admin()?;
    let (text, limit) = super::search_terms(q.q.as_deref(), q.limit)?;
    let rows = user::search(&state.store, &text, limit).await?;
    Ok(HttpResponse::Ok().json(AdminUserList {
        users: rows
            .iter()
            .map(|(u, d)| AdminUserView::new(u, *d))
            .collect(),
    }))
}

async fn set(state: &AppState, who: &AuthUser, id: &str, disable: bool) -> AppResult<HttpResponse> {
    who.require_admin()?;
    let id = UserId::parse(id).ok_or(AppError::NotFound)?;
    if disable && id == who.id {
        return Err(AppError::conflict(
            "cannot_disable_self",
            "an admin cannot disable their own account",
        ));
    }
    let u = user::find(&state.store, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if u.email.ends_with(user::DELETED_DOMAIN) {
        return Err(AppError::conflict(
            "account_deleted",
            "this account was deleted",
        ));
    }
    let now = state.clock.now();
    let at = disable.then_some(now);
    if !user::set_disabled(&state.store, id, at, now).await? {
        return Err(AppError::NotFound);
    }
    if disable {
        state.revoked.announce(state.bus.as_ref(), id).await;
    } else {
        state.revoked.lift(state.bus.as_ref(), id).await;
    }
    Ok(HttpResponse::Ok().json(AdminUserView::new(&u, at)))
}

/// Disable an account (admins): it cannot sign in, and its tokens and sessions stop
/// working on every node at once. Its storefronts stay as they are (unpublish them for
/// abuse separately).
#[utoipa::path(post, path = "/api/admin/users/{id}/disable", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = AdminUserView), (status = 403, description = "`forbidden`"),
        (status = 404, description = "`not_found`"),
        (status = 409, description = "`cannot_disable_self`, `account_deleted`")))]
pub async fn disable(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    set(&state, &who, &id, true).await
}

/// Enable a disabled account again (admins): it may sign in.
#[utoipa::path(post, path = "/api/admin/users/{id}/enable", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = AdminUserView), (status = 403, description = "`forbidden`"),
        (status = 404, description = "`not_found`"), (status = 409, description = "`account_deleted`")))]
pub async fn enable(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    set(&state, &who, &id, false).await
}
