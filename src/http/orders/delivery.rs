//! What a paid order delivers: a digital product's download (an expiring, signed
//! livedrop link that redirects to the file, so the file's own address is never shown)
//! and an event's tickets (a code and its QR image each).

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::MaybeAuth;
use crate::db::models::order::OrderRow;
use crate::db::models::{drop as drop_model, order, product, sale};
use crate::domain::product::Details;
use crate::domain::sale::{download_order, download_token, DOWNLOAD_LINK_TTL};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct Delivery {
    /// Digital: the download, valid until `expires_at`; read the order again for a fresh one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub download_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// Event: one ticket per seat.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tickets: Option<Vec<TicketView>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TicketView {
    /// Shown at the door; the creator checks it in once.
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checked_in_at: Option<DateTime<Utc>>,
    /// The code as a QR image (SVG markup).
    pub qr_svg: String,
}

/// An SVG QR image of `code`.
pub fn qr_svg(code: &str) -> String {
    match qrcode::QrCode::new(code.as_bytes()) {
        Ok(q) => q
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(160, 160)
            .build(),
        Err(_) => String::new(),
    }
}

/// The delivery of `o` for its buyer (`None` until paid, and for kinds that deliver
/// nothing online).
pub async fn of(state: &AppState, o: &OrderRow) -> AppResult<Option<Delivery>> {
    if o.status != "paid" {
        return Ok(None);
    }
    match o.kind.as_str() {
        "digital" if o.drop_id.is_none() => {
            let expires = state.clock.now().and_utc() + DOWNLOAD_LINK_TTL;
            let token = download_token(&state.link_key, o.id, expires.timestamp());
            Ok(Some(Delivery {
                download_url: Some(format!(
                    "{}/download/{token}",
                    state.config.public_url.trim_end_matches('/')
                )),
                expires_at: Some(expires),
                tickets: None,
            }))
        }
        "event" if o.drop_id.is_none() => {
            let tickets = sale::tickets_of(&state.store, o.id)
                .await?
                .into_iter()
                .map(|t| TicketView {
                    qr_svg: qr_svg(&t.code),
                    code: t.code,
                    checked_in_at: t.checked_in_at.map(|t| t.and_utc()),
                })
                .collect();
            Ok(Some(Delivery {
                download_url: None,
                expires_at: None,
                tickets: Some(tickets),
            }))
        }
        _ => Ok(None),
    }
}

/// A download link: redirects to the file while the link lasts and the order is paid.
/// Opened with another account's token it is refused (403): the link is the buyer's.
#[utoipa::path(get, path = "/download/{token}", tag = "orders",
    params(("token" = String, Path)),
    responses((status = 302, description = "to the file"),
        (status = 403, description = "`forbidden`: signed in as someone else"),
        (status = 404, description = "`invalid_link`: expired or not a link of ours; `not_found`: the order is no longer paid")))]
pub async fn download(
    state: web::Data<AppState>,
    who: MaybeAuth,
    token: web::Path<String>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now().and_utc().timestamp();
    let id = download_order(&state.link_key, &token, now).ok_or(AppError::UnknownLink)?;
    let o = order::find(&state.store, id)
        .await?
        .filter(|o| o.status == "paid")
        .ok_or(AppError::NotFound)?;
    if let Some(who) = who.0 {
        let allowed = who.id == o.buyer_id
            || who.is_admin()
            || drop_model::storefront_owner(&state.store, o.storefront_id).await? == Some(who.id);
        if !allowed {
            return Err(AppError::Forbidden(
                "this download belongs to another account",
            ));
        }
    }
    let url = match product::find(&state.store, o.product_id)
        .await?
        .and_then(|p| p.details())
    {
        Some(Details::Digital { download_url }) => download_url,
        _ => return Err(AppError::NotFound),
    };
    Ok(HttpResponse::Found()
        .insert_header(("location", url))
        .insert_header(("cache-control", "no-store"))
        .insert_header(("referrer-policy", "no-referrer"))
        .finish())
}
