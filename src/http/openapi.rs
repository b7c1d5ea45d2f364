//! The OpenAPI 3 document, generated from the handlers' `#[utoipa::path]` annotations.

use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{
    analytics, auth, drops, holds, ops, orders, pages, products, queue, raffles, storefronts,
};

#[derive(OpenApi)]
#[openapi(
    info(title = "livedrop", description = "Real-time commerce for creators: storefronts, products, live drops, verifiable raffles."),
    paths(
        ops::healthz, ops::readyz, ops::metrics, document,
        auth::register::register, auth::login::login, auth::refresh::refresh, auth::logout::logout,
        auth::verify::verify, auth::verify::resend, auth::reset::forgot, auth::reset::reset,
        auth::me::me,
        storefronts::create::create, storefronts::list::list_mine, storefronts::show::show,
        storefronts::update::update, storefronts::publish::publish,
        products::create::create, products::list::list, products::show::show, products::update::update,
        products::delete::delete, products::publish::publish,
        drops::create::create, drops::show::show, drops::publish::publish, drops::log::log,
        drops::update::update, drops::status::pause, drops::status::resume, drops::status::cancel,
        holds::create::create, holds::delete::delete, queue::join::join, queue::show::show,
        orders::checkout::checkout, orders::show::show, orders::webhook::webhook, orders::refund::refund,
        raffles::create::create, raffles::create::publish, raffles::create::cancel,
        raffles::show::show, raffles::show::list, raffles::show::me, raffles::show::my_tickets,
        raffles::show::proof, raffles::enter::enter, raffles::enter::bonus,
        raffles::draw::draw, raffles::draw::list,
        analytics::events::track, analytics::report::report, analytics::report::csv,
        analytics::report::export, analytics::privacy::delete,
        auth::account::export, auth::account::delete,
        crate::ws::upgrade,
        pages::index, pages::storefront, pages::theme, pages::drop_page, pages::raffle_page, pages::admin_page, pages::dashboard_page, pages::verify, pages::reset, pages::api_docs, pages::asset,
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "operations", description = "Health, readiness, metrics"),
        (name = "auth", description = "Accounts and sessions"),
        (name = "storefronts", description = "Creators' storefronts"),
        (name = "products", description = "Products of every kind"),
        (name = "drops", description = "Live drops and holds"),
        (name = "raffles", description = "Raffles with commit-reveal draws anyone can verify"),
        (name = "analytics", description = "Storefront traffic and sales, without cookies"),
        (name = "admin", description = "Platform administration"),
        (name = "live", description = "The WebSocket feed"),
        (name = "pages", description = "HTML pages served by the same binary"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(c) = openapi.components.as_mut() {
            c.add_security_scheme(
                "bearer",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("JWT")
                        .build(),
                ),
            );
        }
    }
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "operations",
    responses((status = 200, description = "OpenAPI 3 document")))]
pub async fn document() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
