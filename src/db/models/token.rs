//! Refresh tokens (sessions) and single-use email tokens (verification, password reset).
//!
//! Both are stored as SHA-256 hashes of 256-bit random strings: a leaked table lets nobody
//! in. Refresh tokens are rotated on every use and grouped in families (one per login);
//! presenting a token that was already rotated means it was copied, so the whole family is
//! revoked: the thief and the owner both have to sign in again.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::user::User;
use crate::db::schema::{email_tokens, refresh_tokens, users};
use crate::db::Store;
use crate::db_run;
use crate::domain::account::{hash_token, opaque_token};
use crate::domain::ids::{FamilyId, TokenId, UserId};
use crate::error::{AppError, AppResult};

/// How long a session survives without being used.
pub const REFRESH_TTL: Duration = Duration::days(30);
/// Verification links are good for a day; reset links for an hour (they grant a password).
pub const VERIFY_TTL: Duration = Duration::hours(24);
pub const RESET_TTL: Duration = Duration::hours(1);

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshToken {
    pub id: TokenId,
    pub user_id: UserId,
    pub family_id: FamilyId,
    pub token_hash: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

fn new_refresh(user: UserId, family: FamilyId, now: NaiveDateTime) -> (String, RefreshToken) {
    let (token, hash) = opaque_token();
    let row = RefreshToken {
        id: TokenId::new(),
        user_id: user,
        family_id: family,
        token_hash: hash,
        created_at: now,
        expires_at: now + REFRESH_TTL,
        used_at: None,
        revoked_at: None,
    };
    (token, row)
}

/// Start a new session (a new family) for `user`; returns the opaque refresh token.
pub async fn start_session(store: &Store, user: UserId) -> AppResult<String> {
    let (token, row) = new_refresh(user, FamilyId::new(), super::now());
    let mut conn = store.write().await?;
    db_run!(conn, |c| {
        diesel::insert_into(refresh_tokens::table)
            .values(&row)
            .execute(c)
            .await
    })?;
    Ok(token)
}

enum Rotation {
    Rotated(User, String),
    Invalid,
    Reused,
}

/// Trade a refresh token for a new one (same family). The old one is marked used in the
/// same transaction that inserts the new one, so two concurrent refreshes with the same
/// token cannot both succeed. A token seen again after rotation revokes its family.
pub async fn rotate(store: &Store, presented: &str) -> AppResult<(User, String)> {
    let hash = hash_token(presented);
    let now = super::now();
    let mut conn = store.write().await?;
    let outcome = db_run!(conn, |c| {
        c.transaction::<_, diesel::result::Error, _>(async |c| {
            {
                let Some(row) = refresh_tokens::table
                    .filter(refresh_tokens::token_hash.eq(&hash))
                    .select(RefreshToken::as_select())
                    .first(c)
                    .await
                    .optional()?
                else {
                    return Ok(Rotation::Invalid);
                };
                if row.revoked_at.is_some() {
                    return Ok(Rotation::Invalid);
                }
                if row.used_at.is_some() {
                    diesel::update(
                        refresh_tokens::table
                            .filter(refresh_tokens::family_id.eq(row.family_id))
                            .filter(refresh_tokens::revoked_at.is_null()),
                    )
                    .set(refresh_tokens::revoked_at.eq(now))
                    .execute(c)
                    .await?;
                    return Ok(Rotation::Reused);
                }
                if row.expires_at <= now {
                    return Ok(Rotation::Invalid);
                }
                // Conditional on `used_at IS NULL`: the loser of a race updates nothing.
                let marked = diesel::update(
                    refresh_tokens::table
                        .find(row.id)
                        .filter(refresh_tokens::used_at.is_null()),
                )
                .set(refresh_tokens::used_at.eq(now))
                .execute(c)
                .await?;
                if marked != 1 {
                    return Ok(Rotation::Invalid);
                }
                let user = users::table
                    .find(row.user_id)
                    .select(User::as_select())
                    .first(c)
                    .await?;
                let (token, next) = new_refresh(row.user_id, row.family_id, now);
                diesel::insert_into(refresh_tokens::table)
                    .values(&next)
                    .execute(c)
                    .await?;
                Ok(Rotation::Rotated(user, token))
            }
        })
        .await
    })?;
    match outcome {
        Rotation::Rotated(user, token) => Ok((user, token)),
        Rotation::Invalid => Err(AppError::Unauthorized("the refresh token is not valid")),
        Rotation::Reused => {
            tracing::warn!("a rotated refresh token was presented again; its family is revoked");
            Err(AppError::Unauthorized(
                "the refresh token was already used; sign in again",
            ))
        }
    }
}

/// Log out: revoke the family of `presented`. Unknown tokens are ignored (idempotent).
pub async fn revoke_family_of(store: &Store, presented: &str) -> AppResult<()> {
    let hash = hash_token(presented);
    let now = super::now();
    let mut conn = store.write().await?;
    db_run!(conn, |c| {
        let family = refresh_tokens::table
            .filter(refresh_tokens::token_hash.eq(&hash))
            .select(refresh_tokens::family_id)
            .first::<FamilyId>(c)
            .await
            .optional()?;
        if let Some(f) = family {
            diesel::update(
                refresh_tokens::table
                    .filter(refresh_tokens::family_id.eq(f))
                    .filter(refresh_tokens::revoked_at.is_null()),
            )
            .set(refresh_tokens::revoked_at.eq(now))
            .execute(c)
            .await?;
        }
        Ok::<_, diesel::result::Error>(())
    })?;
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Verify,
    Reset,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Verify => "verify",
            Purpose::Reset => "reset",
        }
    }
    fn ttl(self) -> Duration {
        match self {
            Purpose::Verify => VERIFY_TTL,
            Purpose::Reset => RESET_TTL,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = email_tokens)]
struct EmailToken {
    id: TokenId,
    user_id: UserId,
    purpose: String,
    token_hash: String,
    created_at: NaiveDateTime,
    expires_at: NaiveDateTime,
    used_at: Option<NaiveDateTime>,
}

/// A new single-use token for a mailed link. Earlier unused tokens of the same purpose stay
/// valid until they expire (a user may click the first of two mails).
pub async fn create_email_token(
    store: &Store,
    user: UserId,
    purpose: Purpose,
) -> AppResult<String> {
    let (token, hash) = opaque_token();
    let now = super::now();
    let row = EmailToken {
        id: TokenId::new(),
        user_id: user,
        purpose: purpose.as_str().into(),
        token_hash: hash,
        created_at: now,
        expires_at: now + purpose.ttl(),
        used_at: None,
    };
    let mut conn = store.write().await?;
    db_run!(conn, |c| {
        diesel::insert_into(email_tokens::table)
            .values(&row)
            .execute(c)
            .await
    })?;
    Ok(token)
}

/// What consuming a token changes, applied in the same transaction as the consumption.
pub enum Effect {
    /// Mark the email verified.
    VerifyEmail,
    /// Set this password hash and end every session of the user.
    SetPassword(String),
}

/// Use a mailed token once. Expired, used, unknown or wrong-purpose tokens are all the
/// same 400 `invalid_token`: the caller learns nothing about which.
/// Whether `presented` is a live (unused, unexpired) token for `purpose`. A cheap check
/// before expensive work (hashing a new password); [`consume_email_token`] decides.
pub async fn email_token_is_live(
    store: &Store,
    presented: &str,
    purpose: Purpose,
) -> AppResult<bool> {
    let hash = hash_token(presented);
    let now = super::now();
    let mut conn = store.read().await?;
    let n = db_run!(conn, |c| {
        email_tokens::table
            .filter(email_tokens::token_hash.eq(&hash))
            .filter(email_tokens::purpose.eq(purpose.as_str()))
            .filter(email_tokens::used_at.is_null())
            .filter(email_tokens::expires_at.gt(now))
            .count()
            .get_result::<i64>(c)
            .await
    })?;
    Ok(n > 0)
}

pub async fn consume_email_token(
    store: &Store,
    presented: &str,
    effect: Effect,
) -> AppResult<UserId> {
    let purpose = match effect {
        Effect::VerifyEmail => Purpose::Verify,
        Effect::SetPassword(_) => Purpose::Reset,
    };
    let hash = hash_token(presented);
    let now = super::now();
    let mut conn = store.write().await?;
    let user = db_run!(conn, |c| {
        let effect = &effect;
        let hash = &hash;
        c.transaction::<_, diesel::result::Error, _>(async |c| {
            {
                let row = email_tokens::table
                    .filter(email_tokens::token_hash.eq(hash))
                    .filter(email_tokens::purpose.eq(purpose.as_str()))
                    .filter(email_tokens::used_at.is_null())
                    .filter(email_tokens::expires_at.gt(now))
                    .select(EmailToken::as_select())
                    .first(c)
                    .await
                    .optional()?;
                let Some(row) = row else { return Ok(None) };
                let marked = diesel::update(
                    email_tokens::table
                        .find(row.id)
                        .filter(email_tokens::used_at.is_null()),
                )
                .set(email_tokens::used_at.eq(now))
                .execute(c)
                .await?;
                if marked != 1 {
                    return Ok(None);
                }
                match effect {
                    Effect::VerifyEmail => {
                        diesel::update(
                            users::table
                                .find(row.user_id)
                                .filter(users::email_verified_at.is_null()),
                        )
                        .set((users::email_verified_at.eq(now), users::updated_at.eq(now)))
                        .execute(c)
                        .await?;
                    }
                    Effect::SetPassword(hash) => {
                        diesel::update(users::table.find(row.user_id))
                            .set((users::password_hash.eq(hash), users::updated_at.eq(now)))
                            .execute(c)
                            .await?;
                        diesel::update(
                            refresh_tokens::table
                                .filter(refresh_tokens::user_id.eq(row.user_id))
                                .filter(refresh_tokens::revoked_at.is_null()),
                        )
                        .set(refresh_tokens::revoked_at.eq(now))
                        .execute(c)
                        .await?;
                        // Every other reset link of the account dies with this one: an
                        // older mail must not reset the new password.
                        diesel::update(
                            email_tokens::table
                                .filter(email_tokens::user_id.eq(row.user_id))
                                .filter(email_tokens::purpose.eq(Purpose::Reset.as_str()))
                                .filter(email_tokens::used_at.is_null()),
                        )
                        .set(email_tokens::used_at.eq(now))
                        .execute(c)
                        .await?;
                        // A reset link proves the mailbox too.
                        diesel::update(
                            users::table
                                .find(row.user_id)
                                .filter(users::email_verified_at.is_null()),
                        )
                        .set(users::email_verified_at.eq(now))
                        .execute(c)
                        .await?;
                    }
                }
                Ok(Some(row.user_id))
            }
        })
        .await
    })?;
    user.ok_or(AppError::InvalidToken)
}
