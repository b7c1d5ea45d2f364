use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::{check_price, owned, ProductView};
use crate::auth::AuthUser;
use crate::db::models::now;
use crate::db::models::product as model;
use crate::domain::product::{self, Kind};
use crate::domain::validate::{self, Check};
use crate::error::{AppError, AppResult};
use crate::http::extract::{Json, PRODUCT_FORM_LIMIT};
use crate::http::openapi::CurrencyCode;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateProductForm {
    #[schema(
        max_length = 120,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub title: Option<String>,
    #[schema(
        max_length = 5000,
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"
    )]
    pub description: Option<String>,
    #[schema(minimum = 0, maximum = 100000000000_i64)]
    pub price_cents: Option<i64>,
    #[schema(value_type = Option<CurrencyCode>)]
    pub currency: Option<String>,
    /// Kind-specific fields to change (the kind itself cannot change).
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub fields: Map<String, Value>,
}

/// Change your product; absent fields stay as they are.
#[utoipa::path(patch, path = "/api/products/{id}", tag = "products", request_body = crate::http::openapi::UpdateProductDoc,
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = ProductView), (status = 404, description = "`not_found`"),
        (status = 409, description = "`wrong_kind`: a field of another kind of product"),
        (status = 422, description = "`validation_failed`")))]
pub async fn update(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    form: Json<UpdateProductForm, PRODUCT_FORM_LIMIT>,
) -> AppResult<HttpResponse> {
    let mut p = owned(&state, &who, &id).await?;
    let f = form.into_inner();
    let kind = Kind::parse(&p.kind).ok_or(AppError::Internal)?;
    // A field of another kind is well formed, but not for this product: its kind decides.
    if let Some(other) = f.fields.keys().find(|k| {
        !kind.fields().contains(&k.as_str())
            && Kind::ALL.iter().any(|o| o.fields().contains(&k.as_str()))
    }) {
        return Err(AppError::conflict(
            "wrong_kind",
            format!("`{other}` is not a field of a {} product", kind.as_str()),
        ));
    }
    let mut check = Check::new();
    if f.fields.contains_key("kind") {
        check.fail("kind", "cannot change; create another product");
    }
    let title = f
        .title
        .as_deref()
        .and_then(|t| check.take("title", validate::text(t, 1, 120, false)));
    let description = f
        .description
        .as_deref()
        .and_then(|d| check.take("description", validate::text(d, 0, 5000, true)));
    let price = f.price_cents.unwrap_or(p.price_cents);
    let currency = check_price(
        &mut check,
        price,
        f.currency.as_deref().unwrap_or(&p.currency),
    );
    // Merge the changed kind-specific fields into the current ones and validate the whole.
    let mut merged = p
        .details()
        .map(|d| d.private())
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default();
    merged.remove("requires_shipping");
    for (k, v) in f.fields.into_iter().filter(|(k, _)| k != "kind") {
        merged.insert(k, v);
    }
    let details = product::details(kind, &merged, &mut check);
    check.finish()?;
    if let Some(t) = title {
        p.title = t;
    }
    if let Some(d) = description {
        p.description = d;
    }
    p.price_cents = price;
    if let Some(c) = currency {
        p.currency = c.as_str().into();
    }
    if let Some(d) = details {
        p.details = serde_json::to_string(&d).map_err(AppError::internal)?;
    }
    p.updated_at = now();
    model::update(&state.store, &p).await?;
    Ok(HttpResponse::Ok().json(ProductView::new(&p, true)))
}
