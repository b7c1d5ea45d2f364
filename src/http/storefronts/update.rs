use std::collections::BTreeMap;

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{clean, owned, Link, StorefrontView, Theme};
use crate::auth::AuthUser;
use crate::db::models::now;
use crate::db::models::storefront::{self as model, StorefrontRow};
use crate::domain::validate::Check;
use crate::error::AppResult;
use crate::http::extract::{Json, STOREFRONT_FORM_LIMIT};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateStorefrontForm {
    #[schema(min_length = 3, max_length = 40, pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$")]
    pub slug: Option<String>,
    #[schema(
        max_length = 80,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub title: Option<String>,
    #[schema(
        max_length = 1000,
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"
    )]
    pub bio: Option<String>,
    /// An empty string removes the avatar.
    #[schema(
        max_length = 2048,
        pattern = r"^(https?://(([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)*[A-Za-z]([A-Za-z0-9-]*[A-Za-z0-9])?|((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9]))(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}|0))?(/[!-~]*)?)?$"
    )]
    pub avatar_url: Option<String>,
    pub theme: Option<Theme>,
    #[schema(max_items = 50, value_type = Option<Vec<super::LinkForm>>)]
    pub links: Option<Vec<Link>>,
    #[schema(value_type = Option<super::Socials>)]
    pub socials: Option<BTreeMap<String, String>>,
}

/// Change your storefront; absent fields stay as they are.
#[utoipa::path(patch, path = "/api/storefronts/{id_or_slug}", tag = "storefronts",
    request_body = UpdateStorefrontForm, security(("bearer" = [])), params(("id_or_slug" = String, Path, description = "the storefront's id")),
    responses((status = 200, body = StorefrontView), (status = 404, description = "`not_found`"),
        (status = 409, description = "`slug_taken`"), (status = 422, description = "`validation_failed`")))]
pub async fn update(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    form: Json<UpdateStorefrontForm, STOREFRONT_FORM_LIMIT>,
) -> AppResult<HttpResponse> {
    let mut row = owned(&state, &who, &id).await?;
    apply(&mut row, &form.into_inner())?;
    row.updated_at = now();
    model::update(&state.store, &row).await?;
    Ok(HttpResponse::Ok().json(StorefrontView::new(&row, None)))
}

/// Validate `f` and write what it changes into `row` (not stored): the PATCH, and the
/// studio's preview of a page before it is saved.
pub fn apply(row: &mut StorefrontRow, f: &UpdateStorefrontForm) -> AppResult<()> {
    let mut check = Check::new();
    let c = clean(
        &mut check,
        f.slug.as_deref(),
        f.title.as_deref(),
        f.bio.as_deref(),
        f.avatar_url.as_deref(),
        f.theme.as_ref(),
        f.links.as_deref(),
        f.socials.as_ref(),
    );
    check.finish()?;
    if let Some(v) = c.slug {
        row.slug = v;
    }
    if let Some(v) = c.title {
        row.title = v;
    }
    if let Some(v) = c.bio {
        row.bio = v;
    }
    if let Some(v) = c.avatar_url {
        row.avatar_url = v;
    }
    if let Some(v) = c.theme {
        row.theme = v;
    }
    if let Some(v) = c.links {
        row.links = v;
    }
    if let Some(v) = c.socials {
        row.socials = v;
    }
    Ok(())
}
