//! The route table: every path the service answers, in one place.
//!
//! [`routes!`] registers each path once with all of its methods and, from the same lines,
//! builds [`ROUTES`], the list the OpenAPI test compares with `/api/openapi.json`. A method
//! a path does not have gets a JSON 405; a path nobody has gets a JSON 404.

pub mod admin;
pub mod analytics;
pub mod auth;
pub mod csv;
pub mod drops;
pub mod extract;
pub mod holds;
pub mod middleware;
pub mod openapi;
pub mod ops;
pub mod orders;
pub mod pages;
pub mod products;
pub mod queue;
pub mod raffles;
pub mod render;
pub mod storefronts;

use actix_web::{web, HttpRequest, HttpResponse};

use crate::error::AppError;

macro_rules! routes {
    ($( $path:literal => { $( $method:ident : $handler:path ),+ $(,)? } ),* $(,)?) => {
        /// Every (method, path) the router serves, in registration order.
        pub const ROUTES: &[(&str, &str)] = &[ $( $( (stringify!($method), $path), )+ )* ];

        /// Register every route on an actix app.
        pub fn configure(cfg: &mut web::ServiceConfig) {
            $(
                {
                    // The methods this path has, for the `Allow` header of a 405.
                    let allow: &'static str = concat!($( stringify!($method), " " ),+);
                    cfg.service(
                        web::resource($path)
                            $( .route(web::$method().to($handler)) )+
                            .default_service(web::to(move || method_not_allowed(allow))),
                    );
                }
            )*
        }
    };
}

routes! {
    // The hot routes first: actix tries resources in registration order, and each
    // `{param}` pattern is a regex match, so a hold or a beacon should not pay for dozens
    // of other patterns before its own.
    "/api/drops/{id}/holds" => { post: holds::create::create },
    "/api/events" => { post: analytics::events::track },

    // Operations.
    "/healthz" => { get: ops::healthz },
    "/readyz" => { get: ops::readyz },
    "/metrics" => { get: ops::metrics },
    "/api/openapi.json" => { get: openapi::document },

    // Accounts.
    "/api/auth/register" => { post: auth::register::register },
    "/api/auth/login" => { post: auth::login::login },
    "/api/auth/refresh" => { post: auth::refresh::refresh },
    "/api/auth/logout" => { post: auth::logout::logout },
    "/api/auth/verify" => { post: auth::verify::verify },
    "/api/auth/verify/resend" => { post: auth::verify::resend },
    "/api/auth/password/forgot" => { post: auth::reset::forgot },
    "/api/auth/password/reset" => { post: auth::reset::reset },
    "/api/me" => { get: auth::me::me, delete: auth::account::delete },
    "/api/me/export" => { get: auth::account::export },

    // Storefronts and products.
    "/api/storefronts" => { get: storefronts::list::list_mine, post: storefronts::create::create },
    "/api/storefronts/{id_or_slug}" => {
        get: storefronts::show::show,
        patch: storefronts::update::update,
    },
    "/api/storefronts/{id}/publish" => { post: storefronts::publish::publish },
    "/api/storefronts/{id}/unpublish" => { post: storefronts::publish::unpublish },
    "/api/slugs/{slug}" => { get: storefronts::slug::check },
    "/api/storefronts/{id}/blocks" => { get: storefronts::blocks::get, put: storefronts::blocks::put },
    "/api/storefronts/{id}/preview" => { post: storefronts::blocks::preview },
    "/api/storefronts/{id}/orders" => { get: orders::list::storefront_orders },
    "/api/storefronts/{id}/drops" => { get: drops::list::list },
    "/api/storefronts/{id}/raffles" => { get: raffles::show::of_storefront },
    "/api/storefronts/{id}/orders.csv" => { get: orders::list::storefront_orders_csv },
    "/api/storefronts/{id}/products" => {
        get: products::list::list,
        post: products::create::create,
    },
    "/api/products/{id}" => {
        get: products::show::show,
        patch: products::update::update,
        delete: products::delete::delete,
    },
    "/api/products/{id}/publish" => { post: products::publish::publish },
    "/api/products/{id}/checkout" => { post: products::checkout::checkout },
    "/api/products/{id}/unpublish" => { post: products::unpublish::unpublish },
    "/api/products/{id}/archive" => { post: products::unpublish::archive },

    // Drops and holds.
    "/api/drops" => { post: drops::create::create },
    "/api/drops/{id}" => { get: drops::show::show, patch: drops::update::update },
    "/api/drops/{id}/pause" => { post: drops::status::pause },
    "/api/drops/{id}/resume" => { post: drops::status::resume },
    "/api/drops/{id}/cancel" => { post: drops::status::cancel },
    "/api/drops/{id}/publish" => { post: drops::publish::publish },
    "/api/drops/{id}/log" => { get: drops::log::log },
    "/api/drops/{id}/collaborators" => { get: drops::collaborators::list, post: drops::collaborators::invite },
    "/api/drops/{id}/collaborators/{cid}" => { delete: drops::collaborators::remove },
    "/api/drops/{id}/splits" => { get: drops::collaborators::splits },
    "/api/collaborations/accept" => { post: drops::collaborators::accept },
    "/api/me/collaborations" => { get: drops::collaborators::mine },
    "/api/drops/{id}/queue" => { post: queue::join::join },
    "/api/queue/{ticket_id}" => { get: queue::show::show },
    "/api/holds/{id}" => { delete: holds::delete::delete },
    "/api/holds/{id}/checkout" => { post: orders::checkout::checkout },
    "/api/orders/{id}" => { get: orders::show::show },
    "/api/me/orders" => { get: orders::list::my_orders },
    "/api/me/earnings" => { get: orders::earnings::mine },
    "/api/me/payouts" => { get: orders::payouts::mine },
    "/api/me/payouts/account" => { get: orders::payouts::account, post: orders::payouts::connect },
    "/api/payments/webhook" => { post: orders::webhook::webhook },
    "/api/payments/config" => { get: orders::webhook::config },
    "/api/orders/{id}/refund" => { post: orders::refund::refund },
    "/api/orders/{id}/fulfil" => { post: orders::fulfil::fulfil },
    "/api/orders/{id}/check-in" => { post: orders::fulfil::check_in },
    "/api/me/memberships" => { get: orders::memberships::mine },
    "/api/me/memberships/{id}" => { delete: orders::memberships::cancel },
    "/download/{token}" => { get: orders::delivery::download },

    // Raffles
    "/api/raffles" => { get: raffles::show::list, post: raffles::create::create },
    "/api/raffles/{id}" => { get: raffles::show::show },
    "/api/raffles/{id}/publish" => { post: raffles::create::publish },
    "/api/raffles/{id}/cancel" => { post: raffles::create::cancel },
    "/api/raffles/{id}/close" => { post: raffles::create::close },
    "/api/raffles/{id}/entries" => { post: raffles::enter::enter },
    "/api/raffles/{id}/bonus" => { post: raffles::enter::bonus },
    "/api/raffles/{id}/me" => { get: raffles::show::me },
    "/api/raffles/{id}/proof" => { get: raffles::show::proof },
    "/api/raffles/{id}/draw" => { post: raffles::draw::draw_own },
    "/api/me/tickets" => { get: raffles::show::my_tickets },
    "/api/admin/raffles" => { get: raffles::draw::list },
    "/api/admin/users" => { get: admin::users::list },
    "/api/admin/storefronts" => { get: admin::storefronts::list },
    "/api/admin/orders" => { get: orders::list::admin_orders },
    "/api/admin/payouts" => { get: orders::payouts::list },
    "/api/admin/payouts/run" => { post: orders::payouts::run },
    "/api/admin/users/{id}/disable" => { post: admin::users::disable },
    "/api/admin/users/{id}/enable" => { post: admin::users::enable },
    "/api/admin/raffles/{id}/draw" => { post: raffles::draw::draw },

    // Analytics and privacy.
    "/api/storefronts/{id}/analytics" => {
        get: analytics::report::report,
        delete: analytics::privacy::delete,
    },
    "/api/storefronts/{id}/analytics.csv" => { get: analytics::report::csv },
    "/api/storefronts/{id}/analytics/export" => { get: analytics::report::export },

    // Live feed.
    "/ws" => { get: crate::ws::upgrade },

    // Pages.
    "/" => { get: pages::index },
    "/s/{slug}" => { get: pages::storefront },
    "/s/{slug}/theme.css" => { get: pages::theme },
    "/preview/theme.css" => { get: pages::preview_theme },
    "/d/{id}" => { get: pages::drop_page },
    "/r/{id}" => { get: pages::raffle_page },
    "/signin" => { get: pages::signin_page },
    "/studio" => { get: pages::studio_page },
    "/signup" => { get: pages::signup_page },
    "/forgot" => { get: pages::forgot_page },
    "/checkout/{product_id}" => { get: pages::checkout_page },
    "/orders/{id}" => { get: pages::order_page },
    "/account" => { get: pages::account_page },
    "/admin" => { get: pages::admin_page },
    "/dashboard" => { get: pages::dashboard_page },
    "/verify" => { get: pages::verify },
    "/reset" => { get: pages::reset },
    "/api/docs" => { get: pages::api_docs },
    "/static/{file}" => { get: pages::asset },
}

/// A JSON 405 (`method_not_allowed`) naming the methods the path has in `Allow`.
async fn method_not_allowed(methods: &'static str) -> HttpResponse {
    use actix_web::ResponseError;
    let mut r = AppError::MethodNotAllowed.error_response();
    let allow = methods
        .split_whitespace()
        .map(str::to_uppercase)
        .collect::<Vec<_>>()
        .join(", ");
    if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&allow) {
        r.headers_mut().insert(actix_web::http::header::ALLOW, v);
    }
    r
}

/// Unknown paths: a JSON 404 (an HTML one for browsers asking for a page).
pub async fn not_found(_req: HttpRequest) -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound)
}
