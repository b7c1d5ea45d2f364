//! HTML pages and their assets, embedded in the binary from `static/`.

use actix_web::{web, HttpResponse};

use crate::error::AppError;

fn html(body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(body)
}

pub async fn index() -> HttpResponse {
    html(include_str!("../../static/index.html"))
}

pub async fn storefront(_slug: web::Path<String>) -> HttpResponse {
    html(include_str!("../../static/storefront.html"))
}

pub async fn verify() -> HttpResponse {
    html(include_str!("../../static/verify.html"))
}

pub async fn reset() -> HttpResponse {
    html(include_str!("../../static/reset.html"))
}

pub async fn api_docs() -> HttpResponse {
    html(include_str!("../../static/docs.html"))
}

/// Assets by name; anything not in this table is a 404, so no path ever reaches the disk.
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
