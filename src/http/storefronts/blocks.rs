//! The page builder's storage: a storefront's blocks, in order.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::owned;
use super::update::UpdateStorefrontForm;
use crate::auth::AuthUser;
use crate::db::models::storefront::StorefrontRow;
use crate::db::models::{drop as drop_model, now, product, raffle, storefront as model};
use crate::domain::blocks::{self, Block, BlockInput, Known};
use crate::error::AppResult;
use crate::http::extract::{Json, PAGE_FORM_LIMIT};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct BlocksView {
    /// In page order. A new storefront has the default blocks: header, socials, links,
    /// drops, raffles, products.
    pub blocks: Vec<Block>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlocksForm {
    /// In page order, at most 40.
    #[schema(value_type = Vec<crate::http::openapi::BlockInputDoc>, max_items = 40)]
    pub blocks: Vec<BlockInput>,
}

/// Your storefront's blocks, in page order.
#[utoipa::path(get, path = "/api/storefronts/{id}/blocks", tag = "storefronts", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = BlocksView), (status = 404, description = "`not_found`")))]
pub async fn get(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let sf = owned(&state, &who, &id).await?;
    let stored = model::blocks(&state.store, sf.id).await?;
    Ok(HttpResponse::Ok().json(BlocksView {
        blocks: blocks::parse(stored.as_deref()),
    }))
}

/// Replace your storefront's blocks: the list in page order (reordered, hidden or shown,
/// added or removed). The page renders them at once.
#[utoipa::path(put, path = "/api/storefronts/{id}/blocks", tag = "storefronts", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = BlocksForm,
    responses((status = 200, body = BlocksView), (status = 404, description = "`not_found`"),
        (status = 409, description = "`unknown_reference`: a block points at a product, drop or raffle that is not this storefront's (the message names it)"),
        (status = 422, description = "`validation_failed`: an unknown block type or an invalid setting, named by its place (`blocks[2].settings.email`)")))]
pub async fn put(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    form: Json<BlocksForm, PAGE_FORM_LIMIT>,
) -> AppResult<HttpResponse> {
    let sf = owned(&state, &who, &id).await?;
    let known = known(&state, &sf).await?;
    let blocks = blocks::validate(form.into_inner().blocks, &known)?;
    let json = serde_json::to_string(&blocks).map_err(crate::error::AppError::internal)?;
    model::set_blocks(&state.store, sf.id, &json, now()).await?;
    Ok(HttpResponse::Ok().json(BlocksView { blocks }))
}

/// What this storefront's blocks may point at: its products (drafts too), drops, raffles.
async fn known(state: &AppState, sf: &StorefrontRow) -> AppResult<Known> {
    Ok(Known {
        products: product::list(&state.store, sf.id, true)
            .await?
            .iter()
            .map(|p| p.id)
            .collect(),
        drops: drop_model::list_for_storefront(&state.store, sf.id)
            .await?
            .iter()
            .map(|d| d.id)
            .collect(),
        raffles: raffle::list(&state.store, Some(Some(sf.id)), 1000)
            .await?
            .iter()
            .map(|r| r.id)
            .collect(),
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewForm {
    /// The blocks as `PUT …/blocks` would take them.
    #[schema(value_type = Vec<crate::http::openapi::BlockInputDoc>, max_items = 40)]
    pub blocks: Vec<BlockInput>,
    /// Changes as `PATCH /api/storefronts/{id}` would take them (look, links, socials).
    pub storefront: Option<UpdateStorefrontForm>,
}

/// The storefront's page as it would be with these blocks and changes, rendered by the
/// public page's own renderer; nothing is saved. The studio shows it beside the editor.
/// Products, drops and raffles appear as the public sees them (published ones).
#[utoipa::path(post, path = "/api/storefronts/{id}/preview", tag = "storefronts", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = PreviewForm,
    responses((status = 200, content_type = "text/html", body = String), (status = 404, description = "`not_found`"),
        (status = 409, description = "`unknown_reference`"),
        (status = 422, description = "`validation_failed`, as the PUT of blocks and the PATCH of the storefront answer it")))]
pub async fn preview(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    form: Json<PreviewForm, PAGE_FORM_LIMIT>,
) -> AppResult<HttpResponse> {
    let mut sf = owned(&state, &who, &id).await?;
    let form = form.into_inner();
    if let Some(changes) = &form.storefront {
        super::update::apply(&mut sf, changes)?;
    }
    let known = known(&state, &sf).await?;
    let blocks = blocks::validate(form.blocks, &known)?;
    let html = crate::http::pages::storefront_html(&state, &sf, &blocks, true).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("cache-control", "no-store"))
        .body(html))
}
