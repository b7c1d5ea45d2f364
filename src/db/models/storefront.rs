//! Storefronts.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::schema::storefronts;
use crate::db::Store;
use crate::db_run;
use crate::domain::ids::{StorefrontId, UserId};
use crate::error::{AppError, AppResult};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = storefronts)]
pub struct StorefrontRow {
    pub id: StorefrontId,
    pub owner_id: UserId,
    pub slug: String,
    pub title: String,
    pub bio: String,
    pub avatar_url: Option<String>,
    /// JSON object of colours.
    pub theme: String,
    /// JSON array of `{title, url}`.
    pub links: String,
    /// JSON object of network → handle.
    pub socials: String,
    pub status: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The platform's fee on this storefront's product sales, fixed when it was created.
    pub platform_fee_bp: i64,
}

fn slug_taken(e: diesel::result::Error) -> AppError {
    match e {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ) => AppError::conflict("slug_taken", "another storefront has this slug"),
        e => e.into(),
    }
}

pub async fn insert(store: &Store, row: &StorefrontRow) -> AppResult<()> {
    let mut conn = store.write().await?;
    db_run!(conn, |c| {
        diesel::insert_into(storefronts::table)
            .values(row)
            .execute(c)
            .await
    })
    .map_err(slug_taken)?;
    Ok(())
}

/// Save every field of `row` (the caller read it, changed it, validated it).
pub async fn update(store: &Store, row: &StorefrontRow) -> AppResult<()> {
    let mut conn = store.write().await?;
    db_run!(conn, |c| {
        diesel::update(storefronts::table.find(row.id))
            .set(row)
            .execute(c)
            .await
    })
    .map_err(slug_taken)?;
    Ok(())
}

pub async fn find(store: &Store, id: StorefrontId) -> AppResult<Option<StorefrontRow>> {
    let mut conn = store.read().await?;
    let r = db_run!(conn, |c| {
        storefronts::table
            .find(id)
            .select(StorefrontRow::as_select())
            .first(c)
            .await
            .optional()
    });
    Ok(r?)
}

pub async fn find_by_slug(store: &Store, slug: &str) -> AppResult<Option<StorefrontRow>> {
    let mut conn = store.read().await?;
    let r = db_run!(conn, |c| {
        storefronts::table
            .filter(storefronts::slug.eq(slug))
            .select(StorefrontRow::as_select())
            .first(c)
            .await
            .optional()
    });
    Ok(r?)
}

pub async fn list_by_owner(store: &Store, owner: UserId) -> AppResult<Vec<StorefrontRow>> {
    let mut conn = store.read().await?;
    let r = db_run!(conn, |c| {
        storefronts::table
            .filter(storefronts::owner_id.eq(owner))
            .order(storefronts::created_at.asc())
            .select(StorefrontRow::as_select())
            .load(c)
            .await
    });
    Ok(r?)
}

/// The storefront's saved blocks (JSON), `None` if it never saved any.
/// Storefronts whose slug, title or owner's email contains `q`, newest first, with the
/// owner's email (admins' search).
pub async fn search(store: &Store, q: &str, limit: i64) -> AppResult<Vec<(StorefrontRow, String)>> {
    use crate::db::schema::users;
    let pattern = super::order::like_pattern(q);
    let mut conn = store.read().await?;
    let r = db_run!(conn, |c| {
        storefronts::table
            .inner_join(users::table.on(users::id.eq(storefronts::owner_id)))
            .filter(
                storefronts::slug
                    .like(&pattern)
                    .escape('\\')
                    .or(storefronts::title.like(&pattern).escape('\\'))
                    .or(users::email.like(&pattern).escape('\\')),
            )
            .order(storefronts::created_at.desc())
            .limit(limit)
            .select((StorefrontRow::as_select(), users::email))
            .load(c)
            .await
    });
    Ok(r?)
}

pub async fn blocks(store: &Store, id: StorefrontId) -> AppResult<Option<String>> {
    let mut conn = store.read().await?;
    let r = db_run!(conn, |c| {
        storefronts::table
            .find(id)
            .select(storefronts::blocks)
            .first::<Option<String>>(c)
            .await
            .optional()
    })?;
    Ok(r.flatten())
}

pub async fn set_blocks(
    store: &Store,
    id: StorefrontId,
    json: &str,
    now: NaiveDateTime,
) -> AppResult<()> {
    let mut conn = store.write().await?;
    db_run!(conn, |c| {
        diesel::update(storefronts::table.find(id))
            .set((
                storefronts::blocks.eq(Some(json)),
                storefronts::updated_at.eq(now),
            ))
            .execute(c)
            .await
    })?;
    Ok(())
}
