use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{drop_id, owns};
use crate::auth::AuthUser;
use crate::db::models::drop::{self as model, LogRow};
use crate::domain::ids::LogId;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
pub struct LogQuery {
    /// Entries after this one (the `next_after` of the previous page).
    pub after: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    pub limit: Option<i64>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LogEntry {
    pub id: LogId,
    pub at: chrono::DateTime<chrono::Utc>,
    /// `created`, `scheduled`, `live`, …, `queue_join`, `waiting_room_shuffled`, `admission`,
    /// `hold`, `release`, `expiry`, `checkout`, `sale`, `declined`, `late_payment`, `refund`.
    pub kind: String,
    pub buyer_id: Option<String>,
    pub variant_id: Option<String>,
    pub hold_id: Option<String>,
    pub quantity: Option<i64>,
    pub detail: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LogPage {
    pub entries: Vec<LogEntry>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_after: Option<LogId>,
}

fn entry(r: LogRow) -> LogEntry {
    LogEntry {
        id: r.id,
        at: r.at.and_utc(),
        kind: r.kind,
        buyer_id: r.buyer_id.map(|x| x.to_string()),
        variant_id: r.variant_id.map(|x| x.to_string()),
        hold_id: r.hold_id.map(|x| x.to_string()),
        quantity: r.quantity,
        detail: serde_json::from_str(&r.detail).unwrap_or(serde_json::Value::Null),
    }
}

/// The drop's audit log (owner and admins): every admission, hold, release, expiry, sale
/// and refund, oldest first, paginated; `format=csv` for a spreadsheet.
#[utoipa::path(get, path = "/api/drops/{id}/log", tag = "drops", security(("bearer" = [])),
    params(("id" = String, Path), LogQuery),
    responses((status = 200, body = LogPage), (status = 404, description = "`not_found`")))]
pub async fn log(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    q: web::Query<LogQuery>,
) -> AppResult<HttpResponse> {
    let id = drop_id(&id)?;
    let (drop, _) = model::find(&state.store, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !who.is_admin() && !owns(&state, &who, &drop).await? {
        return Err(AppError::NotFound);
    }
    let after = match &q.after {
        Some(a) => Some(
            LogId::parse(a)
                .ok_or_else(|| AppError::BadRequest("`after` is not a log id".into()))?,
        ),
        None => None,
    };
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(AppError::BadRequest(
            "`limit` must be from 1 to 1000".into(),
        ));
    }
    let rows = model::log_page(&state.store, id, after, limit).await?;
    let next_after = (rows.len() as i64 == limit)
        .then(|| rows.last().map(|r| r.id))
        .flatten();
    let entries: Vec<LogEntry> = rows.into_iter().map(entry).collect();
    match q.format.as_deref() {
        None | Some("json") => Ok(HttpResponse::Ok().json(LogPage {
            entries,
            next_after,
        })),
        Some("csv") => {
            let mut out = String::from("id,at,kind,buyer_id,variant_id,hold_id,quantity,detail\n");
            for e in entries {
                let cols = [
                    e.id.to_string(),
                    e.at.to_rfc3339(),
                    e.kind,
                    e.buyer_id.unwrap_or_default(),
                    e.variant_id.unwrap_or_default(),
                    e.hold_id.unwrap_or_default(),
                    e.quantity.map(|q| q.to_string()).unwrap_or_default(),
                    e.detail.to_string(),
                ];
                out.push_str(
                    &cols
                        .iter()
                        .map(|c| crate::http::csv::field(c))
                        .collect::<Vec<_>>()
                        .join(","),
                );
                out.push('\n');
            }
            let mut res = HttpResponse::Ok();
            res.content_type("text/csv; charset=utf-8").insert_header((
                "content-disposition",
                format!("attachment; filename=\"drop-{id}-log.csv\""),
            ));
            if let Some(n) = next_after {
                res.insert_header(("x-next-after", n.to_string()));
            }
            Ok(res.body(out))
        }
        Some(_) => Err(AppError::BadRequest("`format` must be json or csv".into())),
    }
}
