use actix_web::{web, HttpResponse};

use super::UserView;
use crate::auth::AuthUser;
use crate::db::models::user;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// The signed-in account.
#[utoipa::path(get, path = "/api/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = UserView), (status = 401, description = "`unauthorized`")))]
pub async fn me(state: web::Data<AppState>, who: AuthUser) -> AppResult<HttpResponse> {
    let u = user::find(&state.store, who.id)
        .await?
        .ok_or(AppError::Unauthorized("the account no longer exists"))?;
    Ok(HttpResponse::Ok().json(UserView::from(&u)))
}
