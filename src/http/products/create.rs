use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::{check_price, ProductView};
use crate::auth::AuthUser;
use crate::db::models::now;
use crate::db::models::product::{self as model, ProductRow};
use crate::domain::ids::ProductId;
use crate::domain::product::{self, Kind};
use crate::domain::validate::{self, Check};
use crate::error::{AppError, AppResult};
use crate::http::extract::{Json, PRODUCT_FORM_LIMIT};
use crate::http::openapi::CurrencyCode;
use crate::http::storefronts::owned;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateProductForm {
    /// digital, physical, service, membership, tip, link or event.
    #[schema(value_type = crate::http::openapi::ProductKindName)]
    pub kind: String,
    #[schema(
        max_length = 120,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub title: String,
    #[schema(
        max_length = 5000,
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"
    )]
    pub description: Option<String>,
    /// Integer minor units (cents).
    #[schema(minimum = 0, maximum = 100000000000_i64)]
    pub price_cents: i64,
    /// ISO 4217, e.g. USD.
    #[schema(value_type = CurrencyCode)]
    pub currency: String,
    /// Kind-specific fields at the top level: digital `download_url`; physical `stock`,
    /// `weight_grams`; service `duration_minutes`; membership `billing_interval`
    /// (month|year); tip `min_cents`; link `url`; event `starts_at`, `capacity`, `location`.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub fields: Map<String, Value>,
}

/// Add a product (a draft) to your storefront.
#[utoipa::path(post, path = "/api/storefronts/{id}/products", tag = "products",
    request_body = crate::http::openapi::CreateProductDoc, security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 201, body = ProductView), (status = 403, description = "`forbidden`: not a creator"),
        (status = 404, description = "`not_found`"),
        (status = 422, description = "`validation_failed`")))]
pub async fn create(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    form: Json<CreateProductForm, PRODUCT_FORM_LIMIT>,
) -> AppResult<HttpResponse> {
    who.require_creator()?;
    let sf = owned(&state, &who, &id).await?;
    let f = form.into_inner();
    let mut check = Check::new();
    let kind = Kind::parse(&f.kind);
    if kind.is_none() {
        check.fail(
            "kind",
            "must be one of digital, physical, service, membership, tip, link, event",
        );
    }
    let title = check.take("title", validate::text(&f.title, 1, 120, false));
    let description = check.take(
        "description",
        validate::text(f.description.as_deref().unwrap_or(""), 0, 5000, true),
    );
    let currency = check_price(&mut check, f.price_cents, &f.currency);
    let details = kind.and_then(|k| product::details(k, &f.fields, &mut check));
    check.finish()?;
    let (Some(kind), Some(title), Some(description), Some(currency), Some(details)) =
        (kind, title, description, currency, details)
    else {
        return Err(AppError::Internal);
    };
    let t = now();
    let row = ProductRow {
        id: ProductId::new(),
        storefront_id: sf.id,
        kind: kind.as_str().into(),
        title,
        description,
        price_cents: f.price_cents,
        currency: currency.as_str().into(),
        details: serde_json::to_string(&details).map_err(AppError::internal)?,
        status: "draft".into(),
        position: model::next_position(&state.store, sf.id).await?,
        created_at: t,
        updated_at: t,
        sold: 0,
        archived_at: None,
    };
    model::insert(&state.store, &row).await?;
    Ok(HttpResponse::Created().json(ProductView::new(&row, true)))
}
