use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::actors::drop::DropState;
use crate::auth::AuthUser;
use crate::db::models::drop::{self as model, DropRow, VariantRow};
use crate::db::models::now;
use crate::domain::drop::DropStatus;
use crate::domain::ids::{DropId, ProductId, StorefrontId, VariantId};
use crate::domain::money::{Currency, MAX_CENTS};
use crate::domain::validate::{self, Check};
use crate::error::{AppError, AppResult};
use crate::http::extract::Json;
use crate::http::openapi::CurrencyCode;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariantForm {
    /// e.g. a size; unique within the drop (letter case aside).
    #[schema(
        max_length = 60,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub name: String,
    #[schema(minimum = 0, maximum = 1000000)]
    pub stock: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDropForm {
    pub storefront_id: StorefrontId,
    pub product_id: ProductId,
    #[schema(
        max_length = 120,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub title: String,
    #[schema(minimum = 0, maximum = 100000000000_i64)]
    pub price_cents: i64,
    #[schema(value_type = CurrencyCode)]
    pub currency: String,
    #[schema(min_items = 1, max_items = 50)]
    pub variants: Vec<VariantForm>,
    pub opens_at: DateTime<Utc>,
    /// After `opens_at`.
    pub closes_at: Option<DateTime<Utc>>,
    /// Units one buyer may hold or buy in this drop (default 1).
    #[schema(minimum = 1, maximum = 100)]
    pub per_buyer_limit: Option<i64>,
    /// How long a hold keeps its units before they return to stock (default 600).
    #[schema(minimum = 30, maximum = 3600)]
    pub hold_seconds: Option<i64>,
    /// From this many seconds before opening, buyers queue instead of racing (default 30).
    #[schema(minimum = 0, maximum = 3600)]
    pub waiting_room_seconds: Option<i64>,
}

pub const MAX_VARIANTS: usize = 50;
pub const MAX_STOCK: i64 = 1_000_000;

/// Create a drop (a draft) for a product of one of your storefronts.
#[utoipa::path(post, path = "/api/drops", tag = "drops", request_body = CreateDropForm,
    security(("bearer" = [])),
    responses((status = 201, body = DropState), (status = 403, description = "`forbidden`: not a creator"),
        (status = 404, description = "`not_found`: no such storefront of yours"),
        (status = 422, description = "`validation_failed`")))]
pub async fn create(
    state: web::Data<AppState>,
    who: AuthUser,
    form: Json<CreateDropForm>,
) -> AppResult<HttpResponse> {
    who.require_creator()?;
    let f = form.into_inner();
    // Whose storefront first: someone else's is a 404 whatever the form says.
    let owner = model::storefront_owner(&state.store, f.storefront_id).await?;
    if owner != Some(who.id) {
        return Err(AppError::NotFound);
    }
    let mut check = Check::new();
    let title = check.take("title", validate::text(&f.title, 1, 120, false));
    if !(0..=MAX_CENTS).contains(&f.price_cents) {
        check.fail("price_cents", format!("must be from 0 to {MAX_CENTS}"));
    }
    let currency = Currency::parse(&f.currency);
    if currency.is_none() {
        check.fail(
            "currency",
            "is not a currency we accept (ISO 4217, e.g. USD)",
        );
    }
    if f.variants.is_empty() || f.variants.len() > MAX_VARIANTS {
        check.fail(
            "variants",
            format!("must have 1 to {MAX_VARIANTS} variants"),
        );
    }
    let mut names = std::collections::BTreeSet::new();
    for (i, v) in f.variants.iter().enumerate() {
        match validate::text(&v.name, 1, 60, false) {
            Ok(n) if !names.insert(n.to_lowercase()) => {
                check.fail(&format!("variants.{i}.name"), "is used by another variant")
            }
            Ok(_) => {}
            Err(m) => check.fail(&format!("variants.{i}.name"), m),
        }
        if !(0..=MAX_STOCK).contains(&v.stock) {
            check.fail(
                &format!("variants.{i}.stock"),
                format!("must be from 0 to {MAX_STOCK}"),
            );
        }
    }
    if let Some(c) = f.closes_at {
        if c <= f.opens_at {
            check.fail("closes_at", "must be after opens_at");
        }
    }
    let limit = f.per_buyer_limit.unwrap_or(1);
    if !(1..=100).contains(&limit) {
        check.fail("per_buyer_limit", "must be from 1 to 100");
    }
    let hold_seconds = f.hold_seconds.unwrap_or(600);
    if !(30..=3600).contains(&hold_seconds) {
        check.fail("hold_seconds", "must be from 30 to 3600");
    }
    let wr = f.waiting_room_seconds.unwrap_or(30);
    if !(0..=3600).contains(&wr) {
        check.fail("waiting_room_seconds", "must be from 0 to 3600");
    }
    check.finish()?;
    let (Some(title), Some(currency)) = (title, currency) else {
        return Err(AppError::Internal);
    };

    if !model::product_in_storefront(&state.store, f.product_id, f.storefront_id).await? {
        return Err(AppError::field(
            "product_id",
            "is not a product of this storefront",
        ));
    }
    let t = now();
    let id = DropId::new();
    let drop = DropRow {
        platform_fee_bp: state.config.platform_fee_bp,
        id,
        storefront_id: f.storefront_id,
        product_id: f.product_id,
        title,
        price_cents: f.price_cents,
        currency: currency.as_str().to_string(),
        opens_at: crate::db::models::truncate(f.opens_at.naive_utc()),
        closes_at: f
            .closes_at
            .map(|c| crate::db::models::truncate(c.naive_utc())),
        per_buyer_limit: limit,
        hold_seconds,
        waiting_room_seconds: wr,
        status: DropStatus::Draft.as_str().into(),
        queue_seed: None,
        created_at: t,
        updated_at: t,
        raffle_id: None,
    };
    let variants: Vec<VariantRow> = f
        .variants
        .iter()
        .enumerate()
        .map(|(i, v)| VariantRow {
            id: VariantId::new(),
            drop_id: id,
            name: v.name.trim().to_string(),
            position: i as i64,
            stock: v.stock,
            remaining: v.stock,
            held: 0,
            sold: 0,
        })
        .collect();
    model::create(&state.store, &drop, &variants).await?;
    let view = state.registry.state(id).await?;
    Ok(HttpResponse::Created().json(view))
}
