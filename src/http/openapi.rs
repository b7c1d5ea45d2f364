//! The OpenAPI 3 document, generated from the handlers' `#[utoipa::path]` annotations.

use std::collections::BTreeMap;

use actix_web::{web, HttpResponse};
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::response::Response;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::state::AppState;

use super::{
    admin, analytics, auth, drops, holds, ops, orders, pages, products, queue, raffles, storefronts,
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
        storefronts::update::update, storefronts::publish::publish, storefronts::blocks::get, storefronts::blocks::put, storefronts::slug::check,
        products::create::create, products::list::list, products::show::show, products::update::update,
        products::delete::delete, products::publish::publish, products::checkout::checkout,
        products::unpublish::unpublish, products::unpublish::archive, storefronts::publish::unpublish,
        drops::create::create, drops::show::show, drops::publish::publish, drops::log::log,
        drops::update::update, drops::status::pause, drops::status::resume, drops::status::cancel,
        holds::create::create, holds::delete::delete, queue::join::join, queue::show::show,
        orders::checkout::checkout, orders::show::show, orders::webhook::webhook, orders::refund::refund,
        orders::list::storefront_orders, orders::list::storefront_orders_csv, orders::list::my_orders,
        orders::fulfil::fulfil, orders::fulfil::check_in, orders::memberships::mine,
        orders::memberships::cancel, orders::delivery::download,
        raffles::create::create, raffles::create::publish, raffles::create::cancel,
        raffles::show::show, raffles::show::list, raffles::show::me, raffles::show::my_tickets,
        raffles::show::proof, raffles::enter::enter, raffles::enter::bonus,
        raffles::draw::draw, raffles::draw::draw_own, raffles::draw::list,
        admin::users::list, admin::users::disable, admin::users::enable,
        analytics::events::track, analytics::report::report, analytics::report::csv,
        analytics::report::export, analytics::privacy::delete,
        auth::account::export, auth::account::delete,
        pages::index, pages::storefront, pages::theme, pages::drop_page, pages::raffle_page, pages::checkout_page, pages::signin_page, pages::signup_page, pages::forgot_page, pages::studio_page, pages::order_page, pages::account_page, pages::admin_page, pages::dashboard_page, pages::verify, pages::reset, pages::api_docs, pages::asset,
    ),
    components(schemas(ErrorResponse, ErrorObject, CurrencyCode, ProductKindName, RaffleEntry)),
    modifiers(&BearerAuth, &ErrorResponses),
    tags(
        (name = "operations", description = "Health, readiness, metrics"),
        (name = "auth", description = "Accounts and sessions"),
        (name = "storefronts", description = "Creators' storefronts"),
        (name = "products", description = "Products of every kind"),
        (name = "drops", description = "Live drops and holds"),
        (name = "orders", description = "Orders: a storefront's and a buyer's"),
        (name = "raffles", description = "Raffles with commit-reveal draws anyone can verify"),
        (name = "analytics", description = "Storefront traffic and sales, without cookies"),
        (name = "admin", description = "Platform administration"),
        (name = "live", description = "The WebSocket feed, `GET /ws` (a protocol upgrade, which OpenAPI cannot describe, so it is not listed among the paths; README, \"Live updates\", gives its messages)"),
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

/// The body of every error answer (see `crate::error`).
#[derive(ToSchema)]
#[allow(dead_code)] // documentation only: `crate::error` writes the body
pub struct ErrorResponse {
    pub error: ErrorObject,
}

/// What went wrong: a stable `code` to match on and a `message` for a person.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ErrorObject {
    /// Stable snake_case code, e.g. `not_found`, `validation_failed`, `sold_out`.
    pub code: String,
    pub message: String,
    /// With `validation_failed` (422): a message per field, keyed by the field's JSON name.
    #[schema(required = false)]
    pub fields: Option<BTreeMap<String, String>>,
}

/// Patterns of the text rules in `crate::domain::validate::text`, written out in each
/// `#[schema(pattern)]` (utoipa takes literals only; a test checks they are these):
/// one line with something besides white space and no control character
/// ([`TEXT_LINE`]), or any text without control characters but newlines and tabs
/// ([`TEXT_MULTILINE`]). Lengths go in `min_length`/`max_length`.
pub const TEXT_LINE: &str = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$";
pub const TEXT_MULTILINE: &str = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$";
/// Any text without control characters (UTM tags).
pub const NO_CONTROL: &str = r"^[^\u0000-\u001f\u007f-\u009f]*$";

/// A currency we accept (`crate::domain::money::CURRENCIES`), for `#[schema(value_type)]`.
pub struct CurrencyCode;

impl utoipa::PartialSchema for CurrencyCode {
    fn schema() -> RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .description(Some(
                "ISO 4217 code of a currency we accept (any letter case)",
            ))
            .enum_values(Some(
                crate::domain::money::CURRENCIES.iter().map(|(c, _)| *c),
            ))
            .into()
    }
}

impl ToSchema for CurrencyCode {}

/// A product kind (`crate::domain::product::Kind`), for `#[schema(value_type)]`.
pub struct ProductKindName;

impl utoipa::PartialSchema for ProductKindName {
    fn schema() -> RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .enum_values(Some(
                crate::domain::product::Kind::ALL.iter().map(|k| k.as_str()),
            ))
            .into()
    }
}

impl ToSchema for ProductKindName {}

/// How a raffle is entered: `free` (one free entry per account) or `tickets`.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)] // documentation only: the form reads a string
pub enum RaffleEntry {
    Free,
    Tickets,
}

/// The shared error answers: (status, component name, codes).
const SHARED: &[(&str, &str, &str)] = &[
    ("400", "BadRequest", "`invalid_json`: the body is not JSON of the expected shape; `bad_request`: a query string or header that cannot be read"),
    ("401", "Unauthorized", "`unauthorized`: no bearer token, or one that is not (or no longer) valid"),
    ("403", "Forbidden", "`forbidden`: signed in without the right to do this; `email_unverified`"),
    ("404", "NotFound", "`not_found`: no such thing, or one the caller may not see"),
    ("409", "Conflict", "a state conflict, with its own code"),
    ("413", "PayloadTooLarge", "`payload_too_large`: the body is over 64 KiB"),
    ("415", "UnsupportedMediaType", "`unsupported_media_type`: the body is not `application/json`"),
    ("422", "ValidationFailed", "`validation_failed`: some fields are not valid (`fields` says which)"),
    ("429", "RateLimited", "`rate_limited`: too many requests (see `Retry-After`)"),
    ("503", "Unavailable", "`service_unavailable`: the store or another dependency cannot be reached right now"),
];

/// Operations that answer without touching the store (no 503).
const NO_STORE: &[&str] = &[
    "/healthz",
    "/api/openapi.json",
    "/",
    "/d/{id}",
    "/r/{id}",
    "/admin",
    "/dashboard",
    "/verify",
    "/reset",
    "/api/docs",
    "/static/{file}",
    "/metrics",
];

fn error_content() -> utoipa::openapi::Content {
    ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("ErrorResponse")))
        .build()
}

/// Declares, for every operation, the error answers its shape implies (a JSON body can be
/// malformed, too large or of another type; a bearer token can be missing; a path id can
/// name nothing; the store can be down), as references to shared responses; and gives
/// each error response an operation declares itself the JSON error body.
struct ErrorResponses;

impl Modify for ErrorResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for (_, name, codes) in SHARED {
            let mut r = Response::new(*codes);
            r.content.insert("application/json".into(), error_content());
            components
                .responses
                .insert((*name).to_string(), RefOr::T(r));
        }
        for (path, item) in openapi.paths.paths.iter_mut() {
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                declare_errors(path, op);
            }
        }
    }
}

fn declare_errors(path: &str, op: &mut Operation) {
    let params = op.parameters.as_deref().unwrap_or(&[]);
    let has = |p: ParameterIn| {
        params
            .iter()
            .any(|x| std::mem::discriminant(&x.parameter_in) == std::mem::discriminant(&p))
    };
    let mut implied: Vec<&str> = Vec::new();
    if op.request_body.is_some() {
        implied.extend(["400", "413", "415"]);
    }
    if has(ParameterIn::Query) || has(ParameterIn::Header) {
        implied.push("400");
    }
    if has(ParameterIn::Path) {
        implied.push("404");
    }
    let secured = op.security.as_ref().is_some_and(|reqs| {
        reqs.iter().any(|r| {
            serde_json::to_value(r)
                .ok()
                .and_then(|v| v.as_object().map(|o| !o.is_empty()))
                .unwrap_or(false)
        })
    });
    if secured {
        implied.push("401");
    }
    if !NO_STORE.contains(&path) {
        implied.push("503");
    }
    let responses = &mut op.responses.responses;
    for status in implied {
        if responses.contains_key(status) {
            continue;
        }
        if let Some((_, name, _)) = SHARED.iter().find(|(s, _, _)| *s == status) {
            responses.insert(
                status.to_string(),
                RefOr::Ref(Ref::new(format!("#/components/responses/{name}"))),
            );
        }
    }
    // Error answers declared with a description only get the JSON error body.
    for (status, r) in responses.iter_mut() {
        if let RefOr::T(r) = r {
            if (status.starts_with('4') || status.starts_with('5')) && r.content.is_empty() {
                r.content.insert("application/json".into(), error_content());
            }
        }
    }
}

/// This document. `/metrics` is in it only when this node serves it (a `METRICS_TOKEN`
/// is configured).
#[utoipa::path(get, path = "/api/openapi.json", tag = "operations",
    responses((status = 200, description = "OpenAPI 3 document")))]
pub async fn document(state: web::Data<AppState>) -> HttpResponse {
    let mut doc = ApiDoc::openapi();
    if state.config.metrics_token.is_none() {
        doc.paths.paths.remove("/metrics");
    }
    HttpResponse::Ok().json(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patterns(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                if let Some(serde_json::Value::String(p)) = m.get("pattern") {
                    out.push(p.clone());
                }
                m.values().for_each(|x| patterns(x, out));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| patterns(x, out)),
            _ => {}
        }
    }

    /// The text patterns written out in the forms are the ones stated here.
    #[test]
    fn text_patterns_are_the_stated_ones() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let mut found = Vec::new();
        patterns(&doc, &mut found);
        let text: Vec<_> = found.iter().filter(|p| p.contains("\\u0000")).collect();
        assert!(text.len() > 10, "{text:?}");
        let path = format!("^/{}", &NO_CONTROL[1..]);
        for p in text {
            assert!(
                [TEXT_LINE, TEXT_MULTILINE, NO_CONTROL, path.as_str()].contains(&p.as_str()),
                "{p}"
            );
        }
    }
}
