use std::collections::BTreeMap;

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{clean, Link, StorefrontView, Theme};
use crate::auth::AuthUser;
use crate::db::models::now;
use crate::db::models::storefront::{self as model, StorefrontRow};
use crate::domain::ids::StorefrontId;
use crate::domain::validate::Check;
use crate::error::{AppError, AppResult};
use crate::http::extract::{Json, STOREFRONT_FORM_LIMIT};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateStorefrontForm {
    /// 3–40 of `a-z 0-9 -`; the page lives at `/s/{slug}`. Reserved words are refused.
    #[schema(min_length = 3, max_length = 40, pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$")]
    pub slug: String,
    #[schema(
        max_length = 80,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub title: String,
    #[schema(
        max_length = 1000,
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"
    )]
    pub bio: Option<String>,
    #[schema(
        max_length = 2048,
        pattern = r"^(https?://(([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)*[A-Za-z]([A-Za-z0-9-]*[A-Za-z0-9])?|((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9]))(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}|0))?(/[!-~]*)?)?$"
    )]
    pub avatar_url: Option<String>,
    pub theme: Option<Theme>,
    #[schema(max_items = 50, value_type = Option<Vec<super::LinkForm>>)]
    pub links: Option<Vec<Link>>,
    /// instagram, tiktok, youtube, x, twitch, threads → handle.
    #[schema(value_type = Option<super::Socials>)]
    pub socials: Option<BTreeMap<String, String>>,
}

/// Open a storefront (a draft until published). Creators only.
#[utoipa::path(post, path = "/api/storefronts", tag = "storefronts", request_body = CreateStorefrontForm,
    security(("bearer" = [])),
    responses((status = 201, body = StorefrontView), (status = 403, description = "`forbidden`: not a creator"),
        (status = 409, description = "`slug_taken`"), (status = 422, description = "`validation_failed`")))]
pub async fn create(
    state: web::Data<AppState>,
    who: AuthUser,
    form: Json<CreateStorefrontForm, STOREFRONT_FORM_LIMIT>,
) -> AppResult<HttpResponse> {
    who.require_creator()?;
    let f = form.into_inner();
    let mut check = Check::new();
    let c = clean(
        &mut check,
        Some(&f.slug),
        Some(&f.title),
        f.bio.as_deref(),
        f.avatar_url.as_deref(),
        Some(&f.theme.unwrap_or_default()),
        Some(f.links.as_deref().unwrap_or_default()),
        Some(&f.socials.unwrap_or_default()),
    );
    check.finish()?;
    let (Some(slug), Some(title)) = (c.slug, c.title) else {
        return Err(AppError::Internal);
    };
    let t = now();
    let row = StorefrontRow {
        platform_fee_bp: state.config.platform_fee_bp,
        id: StorefrontId::new(),
        owner_id: who.id,
        slug,
        title,
        bio: c.bio.unwrap_or_default(),
        avatar_url: c.avatar_url.flatten(),
        theme: c.theme.unwrap_or_else(|| "{}".into()),
        links: c.links.unwrap_or_else(|| "[]".into()),
        socials: c.socials.unwrap_or_else(|| "{}".into()),
        status: "draft".into(),
        created_at: t,
        updated_at: t,
    };
    model::insert(&state.store, &row).await?;
    Ok(HttpResponse::Created().json(StorefrontView::new(&row, None)))
}
