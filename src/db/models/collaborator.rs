//! A drop's collaborators: creators invited by email with a share of its sales in basis
//! points, who accept through the mailed link. Shares are fixed once the drop opens.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use crate::db::schema::{drop_collaborators, drops};
use crate::db::Store;
use crate::db_run;
use crate::domain::drop::DropStatus;
use crate::domain::ids::{CollaboratorId, DropId, UserId};
use crate::error::{AppError, AppResult};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = drop_collaborators)]
pub struct CollaboratorRow {
    pub id: CollaboratorId,
    pub drop_id: DropId,
    /// Lower-cased.
    pub email: String,
    /// Set when the invitation is accepted.
    pub user_id: Option<UserId>,
    pub share_bp: i64,
    /// `invited` or `accepted`.
    pub status: String,
    pub token_hash: String,
    pub created_at: NaiveDateTime,
    pub accepted_at: Option<NaiveDateTime>,
}

pub async fn of_drop(store: &Store, drop: DropId) -> AppResult<Vec<CollaboratorRow>> {
    let mut conn = store.read().await?;
    Ok(db_run!(conn, |c| {
        drop_collaborators::table
            .filter(drop_collaborators::drop_id.eq(drop))
            .order((drop_collaborators::created_at, drop_collaborators::id))
            .select(CollaboratorRow::as_select())
            .load(c)
            .await
    })?)
}

/// Insert `row` if the shares of the drop's collaborators (invited or accepted) plus
/// `row`'s and the platform's fee stay within 10,000 basis points; checked and written in
/// one transaction on the writer, so two invitations cannot both pass. `Ok(false)` when
/// they would not; a second invitation of the same address is a conflict.
pub async fn invite(store: &Store, row: &CollaboratorRow, fee_bp: i64) -> AppResult<bool> {
    let mut conn = store.write().await?;
    let r = db_run!(conn, |c| {
        c.transaction::<_, diesel::result::Error, _>(async |c| {
            let shares: Vec<i64> = drop_collaborators::table
                .filter(drop_collaborators::drop_id.eq(row.drop_id))
                .select(drop_collaborators::share_bp)
                .load(c)
                .await?;
            if shares.iter().sum::<i64>() + row.share_bp + fee_bp > crate::domain::split::WHOLE_BP {
                return Ok(false);
            }
            diesel::insert_into(drop_collaborators::table)
                .values(row)
                .execute(c)
                .await?;
            Ok(true)
        })
        .await
    });
    match r {
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Err(AppError::conflict(
            "already_invited",
            "this address is already invited to this drop",
        )),
        r => Ok(r?),
    }
}

pub async fn remove(store: &Store, drop: DropId, id: CollaboratorId) -> AppResult<bool> {
    let mut conn = store.write().await?;
    let n = db_run!(conn, |c| {
        diesel::delete(
            drop_collaborators::table
                .filter(drop_collaborators::id.eq(id))
                .filter(drop_collaborators::drop_id.eq(drop)),
        )
        .execute(c)
        .await
    })?;
    Ok(n == 1)
}

/// Accept the invitation whose token hashes to `token_hash`, for `user` whose address is
/// `email`. `None` when no invitation to that address has this token; an invitation
/// already accepted by the same account answers again (a second click changes nothing);
/// `Err(drop)` when the drop has opened (or ended) before it was accepted.
pub async fn accept(
    store: &Store,
    token_hash: &str,
    user: UserId,
    email: &str,
    now: NaiveDateTime,
) -> AppResult<Option<Result<CollaboratorRow, DropId>>> {
    let mut conn = store.write().await?;
    let r = db_run!(conn, |c| {
        c.transaction::<_, diesel::result::Error, _>(async |c| {
            let Some(mut row) = drop_collaborators::table
                .filter(drop_collaborators::token_hash.eq(token_hash))
                .select(CollaboratorRow::as_select())
                .first(c)
                .await
                .optional()?
            else {
                return Ok(None);
            };
            if row.email != email.to_lowercase() {
                return Ok(None);
            }
            match (&row.status[..], row.user_id) {
                ("accepted", Some(u)) if u == user => return Ok(Some(Ok(row))),
                ("accepted", _) => return Ok(None),
                _ => {}
            }
            // Shares are fixed once the drop opens: a late acceptance would change the
            // split of the sales after it. Read in the transaction that accepts.
            let (status, opens_at): (String, NaiveDateTime) = drops::table
                .find(row.drop_id)
                .select((drops::status, drops::opens_at))
                .first(c)
                .await?;
            let stored = DropStatus::parse(&status).unwrap_or(DropStatus::Draft);
            if stored.is_final() || (stored != DropStatus::Draft && opens_at <= now) {
                return Ok(Some(Err(row.drop_id)));
            }
            diesel::update(drop_collaborators::table.find(row.id))
                .set((
                    drop_collaborators::status.eq("accepted"),
                    drop_collaborators::user_id.eq(Some(user)),
                    drop_collaborators::accepted_at.eq(Some(now)),
                ))
                .execute(c)
                .await?;
            row.status = "accepted".into();
            row.user_id = Some(user);
            row.accepted_at = Some(now);
            Ok(Some(Ok(row)))
        })
        .await
    })?;
    Ok(r)
}

/// Whether `user` is an accepted collaborator of `drop`.
pub async fn is_collaborator(store: &Store, drop: DropId, user: UserId) -> AppResult<bool> {
    let mut conn = store.read().await?;
    let n: i64 = db_run!(conn, |c| {
        drop_collaborators::table
            .filter(drop_collaborators::drop_id.eq(drop))
            .filter(drop_collaborators::user_id.eq(user))
            .filter(drop_collaborators::status.eq("accepted"))
            .count()
            .get_result(c)
            .await
    })?;
    Ok(n > 0)
}

/// The drops `user` co-sells (accepted invitations), with each drop's title, newest first.
pub async fn of_user(store: &Store, user: UserId) -> AppResult<Vec<(CollaboratorRow, String)>> {
    let mut conn = store.read().await?;
    Ok(db_run!(conn, |c| {
        drop_collaborators::table
            .inner_join(drops::table.on(drops::id.eq(drop_collaborators::drop_id)))
            .filter(drop_collaborators::user_id.eq(user))
            .filter(drop_collaborators::status.eq("accepted"))
            .order(drop_collaborators::id.desc())
            .limit(200)
            .select((CollaboratorRow::as_select(), drops::title))
            .load(c)
            .await
    })?)
}
