//! Buying a product outside a drop: every kind but a link, through the same provider and
//! order model as a drop's checkout.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::AuthUser;
use crate::db::models::{product as model, sale, storefront};
use crate::domain::ids::ProductId;
use crate::domain::sale::{self as rules, Shipping};
use crate::error::{AppError, AppResult};
use crate::http::extract::Json;
use crate::http::orders::checkout::CheckoutView;
use crate::payments::settle::settle;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductCheckoutForm {
    /// Units (1 by default; a membership, tip or service is bought one at a time).
    #[schema(minimum = 1, maximum = 100)]
    pub quantity: Option<i64>,
    /// A tip's amount, at least the product's `min_cents` (its price by default).
    #[schema(minimum = 0)]
    pub amount_cents: Option<i64>,
    /// Required for a physical product.
    pub shipping: Option<Shipping>,
    /// A service's note or requested time.
    #[schema(max_length = 1000)]
    pub note: Option<String>,
    /// With the test provider: 4242424242424242 (paid), 4000000000000002 (declined),
    /// 4000000000000077 (paid later by webhook), 4000000000000119 (fails later).
    #[schema(max_length = 64)]
    pub card: Option<String>,
    /// A saved payment method (real providers); the test provider takes a test card here.
    #[schema(max_length = 64)]
    pub payment_method: Option<String>,
}

/// Buy a product. Stock (physical) and seats (event) are taken when the order opens and
/// given back if the payment fails; with the test card `4242…` the order is `paid` at once.
/// With an `Idempotency-Key`, a retry answers with the first order and charges nothing.
#[utoipa::path(post, path = "/api/products/{id}/checkout", tag = "orders",
    request_body = ProductCheckoutForm, security(("bearer" = [])),
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 200, pattern = r"^[!-~]+$",
        description = "1 to 200 visible ASCII characters; a retry with the same key returns the first order and charges nothing more")),
    responses((status = 201, body = CheckoutView),
        (status = 404, description = "`not_found`"),
        (status = 400, description = "`bad_request`: a malformed Idempotency-Key"),
        (status = 409, description = "`sold_out`, `not_for_sale` (a link), `product_unpublished`, `idempotency_key_reused`"),
        (status = 422, description = "`validation_failed`: missing shipping for a physical product, a tip below its minimum, a quantity below 1, no card")))]
pub async fn checkout(
    state: web::Data<AppState>,
    who: AuthUser,
    req: HttpRequest,
    id: web::Path<String>,
    form: Json<ProductCheckoutForm>,
) -> AppResult<HttpResponse> {
    let id = ProductId::parse(&id).ok_or(AppError::NotFound)?;
    let key = crate::http::extract::idempotency_key(&req)?;
    let form = form.into_inner();
    let p = model::find(&state.store, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let on_sale = p.status == "published"
        && storefront::find(&state.store, p.storefront_id)
            .await?
            .is_some_and(|sf| sf.status == "published");
    if !on_sale {
        return Err(sale::unpublished());
    }
    let details = p.details().ok_or(AppError::NotFound)?;
    let req = rules::Request {
        quantity: form.quantity,
        amount_cents: form.amount_cents,
        shipping: form.shipping,
        note: form.note,
    };
    let mut line = rules::line(&details, p.price_cents, &req)?;
    let method = match form.payment_method.or(form.card) {
        Some(m) if m.len() > 64 => return Err(AppError::field("card", "is too long")),
        Some(m) if !m.trim().is_empty() => m,
        _ if line.amount_cents == 0 => String::new(),
        _ => return Err(AppError::field("card", "is required")),
    };
    if p.kind == "membership" {
        line.details.payment_method = Some(method.clone());
    }
    let now = state.clock.now();
    let provider = state.payments.name();
    let o = match sale::open(
        &state.store,
        &p,
        rules::stock_limit(&details),
        who.id,
        &line,
        key,
        now,
    )
    .await?
    {
        sale::Opened::New(o) => o,
        // A retry: the first answer again, nothing taken or charged twice.
        sale::Opened::Replay(o) if o.product_id == p.id => {
            return Ok(created(o.id, o.status, provider));
        }
        sale::Opened::Replay(_) => {
            return Err(AppError::conflict(
                "idempotency_key_reused",
                "this Idempotency-Key was used for another product",
            ))
        }
    };
    // Nothing to charge (a free download): paid at once.
    let status = if o.amount_cents == 0 {
        let applied = settle(&state, &format!("charge:{}", o.id), o.id, true, "free").await?;
        crate::payments::settle::status_after(&state, &applied, o.id).await?
    } else {
        crate::payments::settle::pay(&state, &o, method).await?
    };
    Ok(created(o.id, status, provider))
}

fn created(
    order_id: crate::domain::ids::OrderId,
    status: String,
    provider: &'static str,
) -> HttpResponse {
    HttpResponse::Created().json(CheckoutView {
        order_id,
        status,
        provider,
    })
}
