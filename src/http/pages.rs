//! HTML pages and their assets, embedded in the binary from `static/`.

use actix_web::{web, HttpResponse};

use crate::db::models::{drop as drop_model, product, storefront};
use crate::error::AppError;
use crate::http::render;
use crate::state::AppState;

fn html(body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(body)
}

/// The landing page.
#[utoipa::path(get, path = "/", tag = "pages", responses((status = 200, content_type = "text/html", body = String)))]
pub async fn index() -> HttpResponse {
    html(include_str!("../../static/index.html"))
}

/// A storefront's public page, rendered on the server: it works without JavaScript, and
/// search engines and link previews see the links and products.
#[utoipa::path(get, path = "/s/{slug}", tag = "pages", params(("slug" = String, Path)),
    responses((status = 200, content_type = "text/html", body = String), (status = 404, content_type = "text/html", body = String)))]
pub async fn storefront(
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let Some(sf) = storefront::find_by_slug(&state.store, &slug.to_lowercase()).await? else {
        return Ok(not_found_page());
    };
    if sf.status != "published" {
        return Ok(not_found_page());
    }
    let blocks =
        crate::domain::blocks::parse(storefront::blocks(&state.store, sf.id).await?.as_deref());
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(storefront_html(&state, &sf, &blocks, false).await?))
}

/// A storefront's page as the public sees it, with these blocks: the public page, and the
/// studio's preview of blocks and a look not saved yet (the same renderer; `preview`: its
/// theme from the row rather than the saved one, and no beacon).
pub async fn storefront_html(
    state: &AppState,
    sf: &storefront::StorefrontRow,
    blocks: &[crate::domain::blocks::Block],
    preview: bool,
) -> Result<String, AppError> {
    let products = product::list(&state.store, sf.id, false).await?;
    let drops = drop_model::list_for_storefront(&state.store, sf.id).await?;
    let raffles: Vec<_> = crate::db::models::raffle::list(&state.store, Some(Some(sf.id)), 20)
        .await?
        .into_iter()
        .filter(|r| r.status != "draft" && r.status != "cancelled")
        .collect();
    let now = state.clock.now();
    let (views_30d, clicks_30d) =
        crate::db::models::analytics::views_and_clicks(&state.store, sf.id, now).await?;
    let ids: Vec<_> = drops.iter().map(|d| d.id).collect();
    let remaining = drop_model::remaining_of(&state.store, &ids).await?;
    let page = render::StorefrontPage {
        blocks,
        products: &products,
        drops: &drops,
        remaining: &remaining,
        raffles: &raffles,
        views_30d,
        clicks_30d,
        theme_href: if preview {
            render::preview_theme_href(&sf.theme)
        } else {
            format!("/s/{}/theme.css", sf.slug)
        },
        preview,
    };
    Ok(render::storefront(sf, &page, now))
}

/// The storefront's theme colours as a stylesheet (the CSP allows no inline styles). The
/// colours were validated as hex when saved, and are checked again here.
#[utoipa::path(get, path = "/s/{slug}/theme.css", tag = "pages", params(("slug" = String, Path)),
    responses((status = 200, content_type = "text/css", body = String)))]
pub async fn theme(
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let sf = storefront::find_by_slug(&state.store, &slug.to_lowercase())
        .await?
        .filter(|s| s.status == "published")
        .ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("cache-control", "public, max-age=60"))
        .body(render::theme_css(&sf.theme)))
}

/// Query of [`preview_theme`]: the colours of a theme not saved yet.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub struct PreviewTheme {
    /// `#rgb` or `#rrggbb`; anything else is left out.
    pub primary: Option<String>,
    pub background: Option<String>,
    pub text: Option<String>,
}

/// A theme's stylesheet from colours in the query, for the studio's preview of a look not
/// saved yet. Only hex colours pass into the CSS.
#[utoipa::path(get, path = "/preview/theme.css", tag = "pages", params(PreviewTheme),
    responses((status = 200, content_type = "text/css", body = String)))]
pub async fn preview_theme(q: web::Query<PreviewTheme>) -> HttpResponse {
    let q = q.into_inner();
    let theme = crate::http::storefronts::Theme {
        primary: q.primary,
        background: q.background,
        text: q.text,
    };
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("cache-control", "public, max-age=3600"))
        .body(render::theme_css_of(&theme))
}

fn not_found_page() -> HttpResponse {
    HttpResponse::NotFound()
        .content_type("text/html; charset=utf-8")
        .body(include_str!("../../static/404.html"))
}

/// A drop's live page (the countdown, stock and checkout run in the browser over the API
/// and the WebSocket feed).
#[utoipa::path(get, path = "/d/{id}", tag = "pages", params(("id" = String, Path)),
    responses((status = 200, content_type = "text/html", body = String)))]
pub async fn drop_page(_id: web::Path<String>) -> HttpResponse {
    html(include_str!("../../static/drop.html"))
}

/// A raffle: countdown, enter, your tickets, live totals, the commitment; then the
/// results with the proof.
#[utoipa::path(get, path = "/r/{id}", tag = "pages", params(("id" = String, Path)),
    responses((status = 200, content_type = "text/html", body = String)))]
pub async fn raffle_page(_id: web::Path<String>) -> HttpResponse {
    html(include_str!("../../static/raffle.html"))
}

/// Sign in, create an account, or ask for a password reset link (one page, three paths).
#[utoipa::path(get, path = "/signin", tag = "pages", params(("next" = Option<String>, Query)),
    responses((status = 200, content_type = "text/html", body = String)))]
pub async fn signin_page() -> HttpResponse {
    html(include_str!("../../static/signin.html"))
}

/// Create an account (a buyer or a creator).
#[utoipa::path(get, path = "/signup", tag = "pages", params(("next" = Option<String>, Query)),
    responses((status = 200, content_type = "text/html", body = String)))]
pub async fn signup_page() -> HttpResponse {
    html(include_str!("../../static/signin.html"))
}

/// Ask for a password reset link.
#[utoipa::path(get, path = "/forgot", tag = "pages",
    responses((status = 200, content_type = "text/html", body = String)))]
pub async fn forgot_page() -> HttpResponse {
    html(include_str!("../../static/signin.html"))
}

/// The creator's studio: storefront, page blocks, products, orders.
#[utoipa::path(get, path = "/studio", tag = "pages",
    responses((status = 200, content_type = "text/html", body = String)))]
pub async fn studio_page() -> HttpResponse {
    html(include_str!("../../static/studio.html"))
}

/// Buying one product: the form its kind needs, sign-in or a new account if needed.
#[utoipa::path(get, path = "/checkout/{product_id}", tag = "pages", params(("product_id" = String, Path)),
    responses((status = 200, content_type = "text/html", body = String)))]
pub async fn checkout_page(_id: web::Path<String>) -> HttpResponse {
    html(include_str!("../../static/checkout.html"))
}

/// An order's page (the sale mails link here): what was bought, the download, the
/// tickets' QR codes, the shipment; for the seller, "mark shipped".
#[utoipa::path(get, path = "/orders/{id}", tag = "pages", params(("id" = String, Path)),
    responses((status = 200, content_type = "text/html", body = String)))]
pub async fn order_page(_id: web::Path<String>) -> HttpResponse {
    html(include_str!("../../static/order.html"))
}

/// The buyer's account: orders, memberships, raffle tickets, data export, deletion.
#[utoipa::path(get, path = "/account", tag = "pages",
    responses((status = 200, content_type = "text/html", body = String)))]
pub async fn account_page() -> HttpResponse {
    html(include_str!("../../static/account.html"))
}

/// The admin console: raffles with live entry counts, draws, winners, proofs.
#[utoipa::path(get, path = "/admin", tag = "pages",
    responses((status = 200, content_type = "text/html", body = String)))]
pub async fn admin_page() -> HttpResponse {
    html(include_str!("../../static/admin.html"))
}

/// A creator's live dashboard: visitors, views, the funnel and sales over the WebSocket
/// feed, and the history of a storefront from the analytics endpoint.
#[utoipa::path(get, path = "/dashboard", tag = "pages", params(("storefront" = Option<String>, Query)),
    responses((status = 200, content_type = "text/html", body = String)))]
pub async fn dashboard_page() -> HttpResponse {
    html(include_str!("../../static/dashboard.html"))
}

/// The page behind the verification mail's link.
#[utoipa::path(get, path = "/verify", tag = "pages", params(("token" = Option<String>, Query, description = "from the mailed link; the page says so when it is missing")),
    responses((status = 200, content_type = "text/html", body = String)))]
pub async fn verify() -> HttpResponse {
    html(include_str!("../../static/verify.html"))
}

/// The page behind the password-reset mail's link.
#[utoipa::path(get, path = "/reset", tag = "pages", params(("token" = Option<String>, Query, description = "from the mailed link; the page says so when it is missing")),
    responses((status = 200, content_type = "text/html", body = String)))]
pub async fn reset() -> HttpResponse {
    html(include_str!("../../static/reset.html"))
}

/// This API reference, rendered from `/api/openapi.json`.
#[utoipa::path(get, path = "/api/docs", tag = "pages", responses((status = 200, content_type = "text/html", body = String)))]
pub async fn api_docs() -> HttpResponse {
    html(include_str!("../../static/docs.html"))
}

/// Assets by name; anything not in this table is a 404, so no path ever reaches the disk.
#[utoipa::path(get, path = "/static/{file}", tag = "pages", params(("file" = String, Path)),
    responses((status = 200, description = "a stylesheet or script"), (status = 404, description = "`not_found`")))]
pub async fn asset(file: web::Path<String>) -> Result<HttpResponse, AppError> {
    const CSS: &str = "text/css; charset=utf-8";
    const JS: &str = "text/javascript; charset=utf-8";
    const TEXT: &str = "text/plain; charset=utf-8";
    let (body, mime): (&'static str, &str) = match file.as_str() {
        "app.css" => (include_str!("../../static/app.css"), CSS),
        "account.js" => (include_str!("../../static/account.js"), JS),
        "docs.js" => (include_str!("../../static/docs.js"), JS),
        "drop.js" => (include_str!("../../static/drop.js"), JS),
        "raffle.js" => (include_str!("../../static/raffle.js"), JS),
        "admin.js" => (include_str!("../../static/admin.js"), JS),
        "dashboard.js" => (include_str!("../../static/dashboard.js"), JS),
        "beacon.js" => (include_str!("../../static/beacon.js"), JS),
        "session.js" => (include_str!("../../static/session.js"), JS),
        "signin.js" => (include_str!("../../static/signin.js"), JS),
        "studio.js" => (include_str!("../../static/studio.js"), JS),
        "admin-users.js" => (include_str!("../../static/admin-users.js"), JS),
        "admin-shops.js" => (include_str!("../../static/admin-shops.js"), JS),
        "admin-payouts.js" => (include_str!("../../static/admin-payouts.js"), JS),
        "checkout.js" => (include_str!("../../static/checkout.js"), JS),
        "order.js" => (include_str!("../../static/order.js"), JS),
        "account-page.js" => (include_str!("../../static/account-page.js"), JS),
        // uPlot, vendored (static/vendor/README.md): served flat, since `{file}` is one
        // path segment.
        "uPlot.iife.min.js" => (include_str!("../../static/vendor/uPlot.iife.min.js"), JS),
        "uPlot.min.css" => (include_str!("../../static/vendor/uPlot.min.css"), CSS),
        // The demo storefront's digital product.
        "demo-download.txt" => (include_str!("../../static/demo-download.txt"), TEXT),
        "uPlot.LICENSE.txt" => (include_str!("../../static/vendor/uPlot.LICENSE"), TEXT),
        _ => return Err(AppError::NotFound),
    };
    Ok(HttpResponse::Ok()
        .content_type(mime)
        .insert_header(("cache-control", "public, max-age=300"))
        .body(body))
}
