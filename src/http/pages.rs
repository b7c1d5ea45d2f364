//! HTML pages and their assets, embedded in the binary from `static/`.

use actix_web::{web, HttpResponse};

use crate::error::AppError;

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

/// A storefront's public page (rendered in the browser from `/api/storefronts/{slug}`).
#[utoipa::path(get, path = "/s/{slug}", tag = "pages", params(("slug" = String, Path)),
    responses((status = 200, content_type = "text/html", body = String)))]
pub async fn storefront(_slug: web::Path<String>) -> HttpResponse {
    html(include_str!("../../static/storefront.html"))
}

/// The page behind the verification mail's link.
#[utoipa::path(get, path = "/verify", tag = "pages", params(("token" = String, Query)),
    responses((status = 200, content_type = "text/html", body = String)))]
pub async fn verify() -> HttpResponse {
    html(include_str!("../../static/verify.html"))
}

/// The page behind the password-reset mail's link.
#[utoipa::path(get, path = "/reset", tag = "pages", params(("token" = String, Query)),
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
    let (body, mime): (&'static str, &str) = match file.as_str() {
        "app.css" => (
            include_str!("../../static/app.css"),
            "text/css; charset=utf-8",
        ),
        "api.js" => (
            include_str!("../../static/api.js"),
            "text/javascript; charset=utf-8",
        ),
        "storefront.js" => (
            include_str!("../../static/storefront.js"),
            "text/javascript; charset=utf-8",
        ),
        "account.js" => (
            include_str!("../../static/account.js"),
            "text/javascript; charset=utf-8",
        ),
        "docs.js" => (
            include_str!("../../static/docs.js"),
            "text/javascript; charset=utf-8",
        ),
        _ => return Err(AppError::NotFound),
    };
    Ok(HttpResponse::Ok()
        .content_type(mime)
        .insert_header(("cache-control", "public, max-age=300"))
        .body(body))
}
