//! Order lists: a storefront's (its owner and admins: JSON pages and a CSV of every match)
//! and a buyer's own.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::OrderView;
use crate::auth::AuthUser;
use crate::db::models::order::{self, OrderFilter};
use crate::db::models::storefront as storefront_model;
use crate::domain::ids::{DropId, OrderId, ProductId, StorefrontId};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Order statuses a list may be narrowed to.
pub const STATUSES: [&str; 5] = ["pending", "paid", "declined", "refund_pending", "refunded"];
/// Page size when none is asked for, and the largest one.
pub const PAGE: i64 = 50;
pub const MAX_PAGE: i64 = 200;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrderQuery {
    /// Part of the buyer's email address (a storefront's orders: the studio's search).
    #[param(max_length = 254)]
    pub q: Option<String>,
    /// `pending`, `paid`, `declined`, `refund_pending` or `refunded`.
    #[param(pattern = "^(pending|paid|declined|refund_pending|refunded)$")]
    pub status: Option<String>,
    /// Orders of this product (for a drop's orders, the drop's product).
    #[param(format = Uuid)]
    pub product_id: Option<String>,
    #[param(format = Uuid)]
    pub drop_id: Option<String>,
    /// Orders created at or after this time (RFC 3339).
    #[param(format = DateTime)]
    pub from: Option<String>,
    /// Orders created before this time (RFC 3339).
    #[param(format = DateTime)]
    pub to: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next` of the previous page.
    #[param(format = Uuid)]
    pub after: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderPage {
    /// Newest first.
    pub orders: Vec<OrderView>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<OrderId>,
}

fn time(field: &'static str, raw: &Option<String>) -> AppResult<Option<NaiveDateTime>> {
    match raw {
        None => Ok(None),
        Some(s) => DateTime::parse_from_rfc3339(s)
            .map(|t| Some(t.with_timezone(&Utc).naive_utc()))
            .map_err(|_| AppError::field(field, "is not an RFC 3339 time")),
    }
}

/// The filter a query asks for (the storefront or buyer is set by the caller).
fn filter(q: &OrderQuery) -> AppResult<OrderFilter> {
    let status = match &q.status {
        Some(s) if !STATUSES.contains(&s.as_str()) => {
            return Err(AppError::field(
                "status",
                "must be pending, paid, declined, refund_pending or refunded",
            ))
        }
        s => s.clone(),
    };
    let product = match &q.product_id {
        Some(p) => Some(
            ProductId::parse(p)
                .ok_or_else(|| AppError::field("product_id", "is not a product id"))?,
        ),
        None => None,
    };
    let drop = match &q.drop_id {
        Some(d) => {
            Some(DropId::parse(d).ok_or_else(|| AppError::field("drop_id", "is not a drop id"))?)
        }
        None => None,
    };
    let after = match &q.after {
        Some(a) => {
            Some(OrderId::parse(a).ok_or_else(|| AppError::field("after", "is not an order id"))?)
        }
        None => None,
    };
    let limit = q.limit.unwrap_or(PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(AppError::field("limit", "must be from 1 to 200"));
    }
    Ok(OrderFilter {
        status,
        product,
        drop,
        from: time("from", &q.from)?,
        to: time("to", &q.to)?,
        after,
        limit,
        buyer_email_like: search(&q.q)?,
        ..OrderFilter::default()
    })
}

/// A search for part of a buyer's email (the admins' search's rules): absent when empty.
fn search(q: &Option<String>) -> AppResult<Option<String>> {
    let (text, _) = crate::http::admin::search_terms(q.as_deref(), None)?;
    Ok((!text.is_empty()).then_some(text))
}

/// One page of `f` (one row more is read to know whether another page follows).
async fn page(state: &AppState, mut f: OrderFilter, with_email: bool) -> AppResult<OrderPage> {
    let limit = f.limit;
    f.limit = limit + 1;
    let mut rows = order::list(&state.store, &f).await?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|l| l.order.id)
    } else {
        None
    };
    let provider = state.payments.name();
    Ok(OrderPage {
        orders: rows
            .iter()
            .map(|l| OrderView::listed(l, provider, with_email))
            .collect(),
        next,
    })
}

/// The storefront `who` may see the orders of: their own, or any for an admin. Someone
/// else's is a 404.
async fn readable(
    state: &AppState,
    who: &AuthUser,
    id: &str,
) -> AppResult<storefront_model::StorefrontRow> {
    let id = StorefrontId::parse(id).ok_or(AppError::NotFound)?;
    let row = storefront_model::find(&state.store, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if row.owner_id != who.id && !who.is_admin() {
        return Err(AppError::NotFound);
    }
    Ok(row)
}

/// The storefront `who` may read and the query's filter narrowed to it.
async fn scoped(
    state: &AppState,
    who: &AuthUser,
    id: &str,
    q: &OrderQuery,
) -> AppResult<(storefront_model::StorefrontRow, OrderFilter)> {
    let mut f = filter(q)?;
    let sf = readable(state, who, id).await?;
    f.storefront = Some(sf.id);
    Ok((sf, f))
}

/// A storefront's orders, newest first, with the buyers' emails (its owner and admins).
#[utoipa::path(get, path = "/api/storefronts/{id}/orders", tag = "orders", security(("bearer" = [])),
    params(("id" = String, Path), OrderQuery),
    responses((status = 200, body = OrderPage),
        (status = 404, description = "`not_found`: no such storefront, or not yours"),
        (status = 422, description = "`validation_failed`: a filter is malformed")))]
pub async fn storefront_orders(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    q: web::Query<OrderQuery>,
) -> AppResult<HttpResponse> {
    let (_, f) = scoped(&state, &who, &id, &q).await?;
    Ok(HttpResponse::Ok().json(page(&state, f, true).await?))
}

/// Every order of a storefront matching the filters, as CSV (a header row, newest first;
/// `limit` and `after` are ignored).
#[utoipa::path(get, path = "/api/storefronts/{id}/orders.csv", tag = "orders", security(("bearer" = [])),
    params(("id" = String, Path), OrderQuery),
    responses((status = 200, content_type = "text/csv", body = String),
        (status = 404, description = "`not_found`: no such storefront, or not yours"),
        (status = 422, description = "`validation_failed`: a filter is malformed")))]
pub async fn storefront_orders_csv(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    q: web::Query<OrderQuery>,
) -> AppResult<HttpResponse> {
    let (sf, mut f) = scoped(&state, &who, &id, &q).await?;
    f.after = None;
    f.limit = 1000;
    let mut out = crate::http::csv::line(&[
        "id",
        "created_at",
        "status",
        "product_id",
        "drop_id",
        "variant_id",
        "quantity",
        "amount_cents",
        "currency",
        "buyer_email",
        "kind",
        "shipping_cents",
        "ship_to",
        "fulfilled_at",
    ]);
    loop {
        let rows = order::list(&state.store, &f).await?;
        for l in &rows {
            let o = &l.order;
            let d = o.details();
            let ship_to = d.shipping.map(|s| {
                [
                    Some(s.name),
                    Some(s.line1),
                    s.line2,
                    Some(format!("{} {}", s.postal_code, s.city)),
                    s.region,
                    Some(s.country),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", ")
            });
            out.push_str(&crate::http::csv::line(&[
                o.id.to_string(),
                o.created_at.and_utc().to_rfc3339(),
                o.status.clone(),
                o.product_id.to_string(),
                o.drop_id.map(|d| d.to_string()).unwrap_or_default(),
                o.variant_id.map(|v| v.to_string()).unwrap_or_default(),
                o.quantity.to_string(),
                o.amount_cents.to_string(),
                o.currency.clone(),
                l.buyer_email.clone(),
                o.kind.clone(),
                d.shipping_cents.to_string(),
                ship_to.unwrap_or_default(),
                o.fulfilled_at
                    .map(|t| t.and_utc().to_rfc3339())
                    .unwrap_or_default(),
            ]));
        }
        match rows.last() {
            Some(l) if rows.len() as i64 == f.limit => f.after = Some(l.order.id),
            _ => break,
        }
    }
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "content-disposition",
            format!("attachment; filename=\"{}-orders.csv\"", sf.slug),
        ))
        .body(out))
}

/// The signed-in buyer's own orders, newest first.
#[utoipa::path(get, path = "/api/me/orders", tag = "orders", security(("bearer" = [])),
    params(OrderQuery),
    responses((status = 200, body = OrderPage),
        (status = 422, description = "`validation_failed`: a filter is malformed")))]
pub async fn my_orders(
    state: web::Data<AppState>,
    who: AuthUser,
    q: web::Query<OrderQuery>,
) -> AppResult<HttpResponse> {
    let mut f = filter(&q)?;
    f.buyer = Some(who.id);
    Ok(HttpResponse::Ok().json(page(&state, f, false).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AdminOrderQuery {
    /// Part of the buyer's email address.
    #[param(max_length = 254)]
    pub q: Option<String>,
    /// `pending`, `paid`, `declined`, `refund_pending` or `refunded`.
    #[param(pattern = "^(pending|paid|declined|refund_pending|refunded)$")]
    pub status: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next` of the previous page.
    #[param(format = Uuid)]
    pub after: Option<String>,
}

/// Every storefront's orders, newest first, found by the buyer's email (admins): to
/// answer a buyer, or to refund (`POST /api/orders/{id}/refund`).
#[utoipa::path(get, path = "/api/admin/orders", tag = "admin", security(("bearer" = [])),
    params(AdminOrderQuery),
    responses((status = 200, body = OrderPage), (status = 403, description = "`forbidden`"),
        (status = 422, description = "`validation_failed`: a filter is malformed")))]
pub async fn admin_orders(
    state: web::Data<AppState>,
    who: AuthUser,
    q: web::Query<AdminOrderQuery>,
) -> AppResult<HttpResponse> {
    who.require_admin()?;
    let base = OrderQuery {
        q: q.q.clone(),
        status: q.status.clone(),
        product_id: None,
        drop_id: None,
        from: None,
        to: None,
        limit: q.limit,
        after: q.after.clone(),
    };
    Ok(HttpResponse::Ok().json(page(&state, filter(&base)?, true).await?))
}
