//! Accounts.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::schema::users;
use crate::db::Store;
use crate::db_run;
use crate::domain::account::Role;
use crate::domain::ids::UserId;
use crate::domain::validate;
use crate::error::{AppError, AppResult};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub password_hash: String,
    pub role: String,
    pub email_verified_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl User {
    pub fn role(&self) -> Role {
        Role::parse(&self.role).unwrap_or(Role::Buyer)
    }

    pub fn verified(&self) -> bool {
        self.email_verified_at.is_some()
    }
}

/// Insert a new account. A taken email is `409 email_taken`.
pub async fn insert(store: &Store, user: &User) -> AppResult<()> {
    let mut conn = store.write().await?;
    let r = db_run!(conn, |c| {
        diesel::insert_into(users::table)
            .values(user)
            .execute(c)
            .await
    });
    match r {
        Ok(_) => Ok(()),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Err(AppError::conflict(
            "email_taken",
            "an account with this email exists",
        )),
        Err(e) => Err(e.into()),
    }
}

pub async fn find(store: &Store, id: UserId) -> AppResult<Option<User>> {
    let mut conn = store.read().await?;
    let r = db_run!(conn, |c| {
        users::table
            .find(id)
            .select(User::as_select())
            .first(c)
            .await
            .optional()
    });
    Ok(r?)
}

/// Accounts deleted (anonymised) since `since`: their access tokens may still be live.
pub async fn deleted_since(store: &Store, since: NaiveDateTime) -> AppResult<Vec<UserId>> {
    let mut conn = store.read().await?;
    let r = db_run!(conn, |c| {
        users::table
            .filter(users::email.like(format!("%{DELETED_DOMAIN}")))
            .filter(users::updated_at.ge(since))
            .select(users::id)
            .load::<UserId>(c)
            .await
    });
    Ok(r?)
}

/// Accounts an admin disabled (their tokens are refused on every node).
pub async fn disabled(store: &Store) -> AppResult<Vec<UserId>> {
    let mut conn = store.read().await?;
    let r = db_run!(conn, |c| {
        users::table
            .filter(users::disabled_at.is_not_null())
            .select(users::id)
            .load::<UserId>(c)
            .await
    });
    Ok(r?)
}

pub async fn is_disabled(store: &Store, id: UserId) -> AppResult<bool> {
    let mut conn = store.read().await?;
    let r = db_run!(conn, |c| {
        users::table
            .find(id)
            .select(users::disabled_at)
            .first::<Option<NaiveDateTime>>(c)
            .await
            .optional()
    })?;
    Ok(matches!(r, Some(Some(_))))
}

/// Disable (`Some(now)`) or enable (`None`) an account; a disabled one also loses its
/// refresh tokens, in the same transaction. `false` if there is no such account.
pub async fn set_disabled(
    store: &Store,
    id: UserId,
    at: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> AppResult<bool> {
    use crate::db::schema::refresh_tokens;
    use diesel_async::AsyncConnection;
    let mut conn = store.write().await?;
    let n = db_run!(conn, |c| {
        c.transaction::<_, diesel::result::Error, _>(async |c| {
            let n = diesel::update(users::table.find(id))
                .set((users::disabled_at.eq(at), users::updated_at.eq(now)))
                .execute(c)
                .await?;
            if at.is_some() {
                diesel::delete(refresh_tokens::table.filter(refresh_tokens::user_id.eq(id)))
                    .execute(c)
                    .await?;
            }
            Ok(n)
        })
        .await
    })?;
    Ok(n == 1)
}

/// Accounts whose email contains `q` (all when empty), newest first, with when each was
/// disabled.
pub async fn search(
    store: &Store,
    q: &str,
    limit: i64,
) -> AppResult<Vec<(User, Option<NaiveDateTime>)>> {
    let pattern = super::order::like_pattern(q);
    let mut conn = store.read().await?;
    let r = db_run!(conn, |c| {
        users::table
            .filter(users::email.like(&pattern).escape('\\'))
            .order(users::created_at.desc())
            .limit(limit)
            .select((User::as_select(), users::disabled_at))
            .load(c)
            .await
    });
    Ok(r?)
}

/// The address a deleted account's email is replaced with ends in this.
pub const DELETED_DOMAIN: &str = "@deleted.invalid";

pub async fn find_by_email(store: &Store, email: &str) -> AppResult<Option<User>> {
    let mut conn = store.read().await?;
    let r = db_run!(conn, |c| {
        users::table
            .filter(users::email.eq(email))
            .select(User::as_select())
            .first(c)
            .await
            .optional()
    });
    Ok(r?)
}

/// `livedrop admin create`: a new verified admin, or an existing account promoted, with
/// the password whose argon2 `hash` the caller made (the store hashes nothing).
pub async fn create_admin(store: &Store, email: &str, hash: String) -> AppResult<UserId> {
    let email = validate::email(email).map_err(|m| AppError::field("email", m))?;
    let now = super::now();
    if let Some(existing) = find_by_email(store, &email).await? {
        let mut conn = store.write().await?;
        db_run!(conn, |c| {
            diesel::update(users::table.find(existing.id))
                .set((
                    users::role.eq(Role::Admin.as_str()),
                    users::password_hash.eq(&hash),
                    users::email_verified_at.eq(existing.email_verified_at.or(Some(now))),
                    users::updated_at.eq(now),
                ))
                .execute(c)
                .await
        })?;
        return Ok(existing.id);
    }
    let user = User {
        id: UserId::new(),
        email,
        password_hash: hash,
        role: Role::Admin.as_str().into(),
        email_verified_at: Some(now),
        created_at: now,
        updated_at: now,
    };
    insert(store, &user).await?;
    Ok(user.id)
}
