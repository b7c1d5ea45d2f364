//! Products.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::schema::products;
use crate::db::Store;
use crate::db_run;
use crate::domain::ids::{ProductId, StorefrontId};
use crate::error::AppResult;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = products)]
pub struct ProductRow {
    pub id: ProductId,
    pub storefront_id: StorefrontId,
    pub kind: String,
    pub title: String,
    pub description: String,
    pub price_cents: i64,
    pub currency: String,
    /// The kind-specific fields (`domain::product::Details`) as JSON.
    pub details: String,
    pub status: String,
    pub position: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Units taken by the product's own open and paid orders (physical and event; a
    /// drop counts its own). Written only by the sale's conditional update.
    #[diesel(skip_insertion, skip_update)]
    pub sold: i64,
    /// Archived: off sale for good, kept because orders or drops name it.
    pub archived_at: Option<NaiveDateTime>,
}

impl ProductRow {
    /// Units or seats still for sale (`None`: the kind has no stock).
    pub fn available(&self) -> Option<i64> {
        self.details()
            .as_ref()
            .and_then(crate::domain::sale::stock_limit)
            .map(|limit| (limit - self.sold).max(0))
    }

    /// The kind-specific fields, read from `details` (`None` only for a row no release wrote).
    pub fn details(&self) -> Option<crate::domain::product::Details> {
        serde_json::from_str(&self.details).ok()
    }
}

/// Insert a product at the end of its storefront's list.
pub async fn insert(store: &Store, row: &ProductRow) -> AppResult<()> {
    let mut conn = store.write().await?;
    db_run!(conn, |c| {
        diesel::insert_into(products::table)
            .values(row)
            .execute(c)
            .await
    })?;
    Ok(())
}

pub async fn update(store: &Store, row: &ProductRow) -> AppResult<()> {
    let mut conn = store.write().await?;
    db_run!(conn, |c| {
        diesel::update(products::table.find(row.id))
            .set(row)
            .execute(c)
            .await
    })?;
    Ok(())
}

/// Delete a draft. Published products stay (orders and drops may point at them); a
/// `false` means there was no draft with that id. A draft that orders or drops name
/// (unpublished after it sold) is refused: 409 `product_has_orders`, archive it instead.
pub async fn delete_draft(store: &Store, id: ProductId) -> AppResult<bool> {
    let mut conn = store.write().await?;
    let n = db_run!(conn, |c| {
        diesel::delete(
            products::table
                .find(id)
                .filter(products::status.eq("draft")),
        )
        .execute(c)
        .await
    });
    match n {
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::ForeignKeyViolation,
            _,
        )) => Err(crate::error::AppError::conflict(
            "product_has_orders",
            "orders or drops name this product: archive it instead",
        )),
        n => Ok(n? == 1),
    }
}

pub async fn find(store: &Store, id: ProductId) -> AppResult<Option<ProductRow>> {
    let mut conn = store.read().await?;
    let r = db_run!(conn, |c| {
        products::table
            .find(id)
            .select(ProductRow::as_select())
            .first(c)
            .await
            .optional()
    });
    Ok(r?)
}

/// A storefront's products in display order; only published ones unless `drafts`.
pub async fn list(
    store: &Store,
    storefront: StorefrontId,
    drafts: bool,
) -> AppResult<Vec<ProductRow>> {
    let mut conn = store.read().await?;
    let r = db_run!(conn, |c| {
        let mut q = products::table
            .filter(products::storefront_id.eq(storefront))
            .into_boxed();
        if !drafts {
            q = q.filter(products::status.eq("published"));
        }
        q.order((products::position.asc(), products::created_at.asc()))
            .select(ProductRow::as_select())
            .load(c)
            .await
    });
    Ok(r?)
}

/// The next position at the end of a storefront's list.
pub async fn next_position(store: &Store, storefront: StorefrontId) -> AppResult<i64> {
    let mut conn = store.read().await?;
    let r = db_run!(conn, |c| {
        products::table
            .filter(products::storefront_id.eq(storefront))
            .count()
            .get_result::<i64>(c)
            .await
    });
    Ok(r?)
}
