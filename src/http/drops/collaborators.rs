//! Collaborative drops: the owner invites creators by email with a share of the sales
//! (basis points), they accept through the mailed link, and the owner and accepted
//! collaborators see how every paid order was split (the money ledger).

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{drop_id, owns};
use crate::auth::AuthUser;
use crate::db::models::collaborator::{self as model, CollaboratorRow};
use crate::db::models::drop::{self as drops, DropRow};
use crate::db::models::ledger;
use crate::domain::drop::DropStatus;
use crate::domain::ids::{CollaboratorId, DropId, UserId};
use crate::error::{AppError, AppResult};
use crate::http::extract::Json;
use crate::mail::Mail;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteForm {
    /// The collaborator's email address (their creator account's).
    #[schema(max_length = 254)]
    pub email: String,
    /// Their share of each paid order, in basis points (1 to 10,000 minus the platform's
    /// fee and the other collaborators' shares).
    #[schema(minimum = 1, maximum = 10000)]
    pub share_bp: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CollaboratorView {
    pub id: CollaboratorId,
    pub email: String,
    pub share_bp: i64,
    /// `invited` or `accepted`.
    pub status: String,
    pub user_id: Option<UserId>,
    pub drop_id: DropId,
}

impl From<&CollaboratorRow> for CollaboratorView {
    fn from(r: &CollaboratorRow) -> Self {
        CollaboratorView {
            id: r.id,
            email: r.email.clone(),
            share_bp: r.share_bp,
            status: r.status.clone(),
            user_id: r.user_id,
            drop_id: r.drop_id,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CollaboratorList {
    pub collaborators: Vec<CollaboratorView>,
}

/// The drop, if `who` owns it (anyone else: not found).
async fn owned(state: &AppState, who: &AuthUser, id: &str) -> AppResult<DropRow> {
    let (d, _) = drops::find(&state.store, drop_id(id)?)
        .await?
        .ok_or(AppError::NotFound)?;
    if !owns(state, who, &d).await? {
        return Err(AppError::NotFound);
    }
    Ok(d)
}

/// The drop, if `who` owns it or collaborates on it (accepted); anyone else: not found.
async fn visible(state: &AppState, who: &AuthUser, id: &str) -> AppResult<DropRow> {
    let (d, _) = drops::find(&state.store, drop_id(id)?)
        .await?
        .ok_or(AppError::NotFound)?;
    if owns(state, who, &d).await? || model::is_collaborator(&state.store, d.id, who.id).await? {
        return Ok(d);
    }
    Err(AppError::NotFound)
}

/// Shares are fixed once the drop has opened (or ended or was cancelled).
fn started(state: &AppState, d: &DropRow) -> bool {
    let status = d.stored_status();
    status.is_final() || (status != DropStatus::Draft && d.opens_at <= state.clock.now())
}

fn drop_started() -> AppError {
    AppError::conflict("drop_started", "the drop has opened: its shares are fixed")
}

/// Invite a collaborator (the drop's owner, before it opens). They get a mail with a link
/// carrying `token=`; their share applies to paid orders once they accept.
#[utoipa::path(post, path = "/api/drops/{id}/collaborators", tag = "money", request_body = InviteForm,
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 201, body = CollaboratorView),
        (status = 404, description = "`not_found`: no such drop, or not yours"),
        (status = 409, description = "`drop_started`, `already_invited`"),
        (status = 422, description = "`validation_failed`: a bad address, a share below 1, or shares plus the platform's fee above 10,000")))]
pub async fn invite(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    form: Json<InviteForm>,
) -> AppResult<HttpResponse> {
    let d = owned(&state, &who, &id).await?;
    let form = form.into_inner();
    let email =
        crate::domain::validate::email(&form.email).map_err(|m| AppError::field("email", m))?;
    if form.share_bp < 1 || form.share_bp > crate::domain::split::WHOLE_BP {
        return Err(AppError::field(
            "share_bp",
            "must be from 1 to 10000 basis points",
        ));
    }
    if started(&state, &d) {
        return Err(drop_started());
    }
    let owner = crate::db::models::user::find(&state.store, who.id).await?;
    if owner.is_some_and(|u| u.email == email) {
        return Err(AppError::field(
            "email",
            "is yours: the owner keeps what the shares leave",
        ));
    }
    let (token, hash) = crate::auth::opaque_token();
    let row = CollaboratorRow {
        id: CollaboratorId::new(),
        drop_id: d.id,
        email,
        user_id: None,
        share_bp: form.share_bp,
        status: "invited".into(),
        token_hash: hash,
        created_at: state.clock.now(),
        accepted_at: None,
    };
    if !model::invite(&state.store, &row, d.platform_fee_bp).await? {
        return Err(AppError::field(
            "share_bp",
            format!(
                "the collaborators' shares plus the platform's fee ({} bp) would exceed 10000",
                d.platform_fee_bp
            ),
        ));
    }
    let link = format!(
        "{}/studio?accept=collaboration&token={token}",
        state.config.public_url.trim_end_matches('/')
    );
    let pct = form.share_bp as f64 / 100.0;
    state
        .mail(Mail {
            to: row.email.clone(),
            subject: format!("You are invited to co-sell \u{201c}{}\u{201d}", d.title),
            text: format!(
                "You are invited to sell the drop \u{201c}{}\u{201d} together, for {pct}% of each paid order.\n\nSign in with your creator account for this address and accept here:\n\n{link}\n\nIf you do not want to, ignore this mail.\n",
                d.title
            ),
            html: None,
        })
        .await?;
    Ok(HttpResponse::Created().json(CollaboratorView::from(&row)))
}

/// The drop's collaborators (its owner and accepted collaborators).
#[utoipa::path(get, path = "/api/drops/{id}/collaborators", tag = "money",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = CollaboratorList), (status = 404, description = "`not_found`")))]
pub async fn list(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let d = visible(&state, &who, &id).await?;
    let rows = model::of_drop(&state.store, d.id).await?;
    Ok(HttpResponse::Ok().json(CollaboratorList {
        collaborators: rows.iter().map(CollaboratorView::from).collect(),
    }))
}

/// Withdraw an invitation or remove a collaborator (the owner, before the drop opens).
#[utoipa::path(delete, path = "/api/drops/{id}/collaborators/{cid}", tag = "money",
    security(("bearer" = [])), params(("id" = String, Path), ("cid" = String, Path)),
    responses((status = 204), (status = 404, description = "`not_found`"),
        (status = 409, description = "`drop_started`")))]
pub async fn remove(
    state: web::Data<AppState>,
    who: AuthUser,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (id, cid) = path.into_inner();
    let d = owned(&state, &who, &id).await?;
    let cid = CollaboratorId::parse(&cid).ok_or(AppError::NotFound)?;
    if started(&state, &d) {
        return Err(drop_started());
    }
    if !model::remove(&state.store, d.id, cid).await? {
        return Err(AppError::NotFound);
    }
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptForm {
    /// The `token` of the mailed link.
    #[schema(max_length = 200)]
    pub token: String,
}

/// Accept an invitation: the creator account of the invited address, with the mailed
/// link's token. Accepting twice answers the same.
#[utoipa::path(post, path = "/api/collaborations/accept", tag = "money", request_body = AcceptForm,
    security(("bearer" = [])),
    responses((status = 200, body = CollaboratorView),
        (status = 404, description = "`invalid_link`: no invitation with this token for this account's address"),
        (status = 409, description = "`drop_started`: the drop opened before the invitation was accepted (shares are fixed once it opens)"),
        (status = 403, description = "`forbidden`: not a creator account")))]
pub async fn accept(
    state: web::Data<AppState>,
    who: AuthUser,
    form: Json<AcceptForm>,
) -> AppResult<HttpResponse> {
    who.require_creator()?;
    let user = crate::db::models::user::find(&state.store, who.id)
        .await?
        .ok_or(AppError::Unauthorized("the account no longer exists"))?;
    let hash = crate::auth::hash_token(form.token.trim());
    let row = model::accept(&state.store, &hash, user.id, &user.email, state.clock.now())
        .await?
        .ok_or(AppError::UnknownLink)?
        .map_err(|_| drop_started())?;
    Ok(HttpResponse::Ok().json(CollaboratorView::from(&row)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PartyView {
    /// `"platform"` or the creator's user id.
    pub party: String,
    /// `owner`, `collaborator` or `platform`.
    pub role: String,
    pub share_bp: i64,
    /// Credited from paid orders.
    pub earned_cents: i64,
    /// Taken back by refunds (a positive amount).
    pub reversed_cents: i64,
    /// `earned_cents − reversed_cents`.
    pub net_cents: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SplitsView {
    pub currency: String,
    /// Every paid order's amount.
    pub gross_cents: i64,
    /// What refunds gave back.
    pub refunded_cents: i64,
    /// `sum(net_cents) == gross_cents − refunded_cents`.
    pub parties: Vec<PartyView>,
}

/// How the drop's sales were split, from the ledger (the owner and accepted
/// collaborators; anyone else: 404).
#[utoipa::path(get, path = "/api/drops/{id}/splits", tag = "money",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = SplitsView), (status = 404, description = "`not_found`")))]
pub async fn splits(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let d = visible(&state, &who, &id).await?;
    let rows = ledger::of_drop(&state.store, d.id).await?;
    // The parties as the next sale would split: owner, accepted collaborators, platform.
    let owner = drops::storefront_owner(&state.store, d.storefront_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let accepted: Vec<(UserId, i64)> = model::of_drop(&state.store, d.id)
        .await?
        .into_iter()
        .filter_map(|c| {
            c.user_id
                .filter(|_| c.status == "accepted")
                .map(|u| (u, c.share_bp))
        })
        .collect();
    let party = |party: &str, role: &str, share_bp: i64| PartyView {
        party: party.to_string(),
        role: role.to_string(),
        share_bp,
        earned_cents: 0,
        reversed_cents: 0,
        net_cents: 0,
    };
    let mut parties: Vec<PartyView> = ledger::shares(owner, d.platform_fee_bp, &accepted)
        .iter()
        .map(|s| party(s.party.key(), s.role, s.share_bp))
        .collect();
    for r in &rows {
        // A party with rows but no share now (a collaborator removed later) still shows.
        let i = match parties.iter().position(|p| p.party == r.party) {
            Some(i) => i,
            None => {
                parties.push(party(&r.party, &r.role, r.share_bp));
                parties.len() - 1
            }
        };
        let p = &mut parties[i];
        if r.kind == "sale" {
            p.earned_cents += r.amount_cents;
        } else {
            p.reversed_cents -= r.amount_cents;
        }
        p.net_cents += r.amount_cents;
    }
    Ok(HttpResponse::Ok().json(SplitsView {
        currency: d.currency.clone(),
        gross_cents: parties.iter().map(|p| p.earned_cents).sum(),
        refunded_cents: parties.iter().map(|p| p.reversed_cents).sum(),
        parties,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Collaboration {
    pub drop_id: crate::domain::ids::DropId,
    /// The drop's title.
    pub title: String,
    /// Your share of each paid order, in basis points.
    pub share_bp: i64,
    pub accepted_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CollaborationList {
    /// Newest first.
    pub collaborations: Vec<Collaboration>,
}

/// The drops you co-sell (invitations you accepted): see each one's splits on
/// `GET /api/drops/{id}/splits`.
#[utoipa::path(get, path = "/api/me/collaborations", tag = "money", security(("bearer" = [])),
    responses((status = 200, body = CollaborationList)))]
pub async fn mine(state: web::Data<AppState>, who: AuthUser) -> AppResult<HttpResponse> {
    let rows = model::of_user(&state.store, who.id).await?;
    Ok(HttpResponse::Ok().json(CollaborationList {
        collaborations: rows
            .into_iter()
            .map(|(r, title)| Collaboration {
                drop_id: r.drop_id,
                title,
                share_bp: r.share_bp,
                accepted_at: r.accepted_at.map(|t| t.and_utc()),
            })
            .collect(),
    }))
}
