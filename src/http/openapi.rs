//! The OpenAPI 3 document, generated from the handlers' `#[utoipa::path]` annotations.

use std::collections::BTreeMap;

use actix_web::{web, HttpResponse};
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::response::Response;
use utoipa::openapi::security::{
    AuthorizationCode, Flow, HttpAuthScheme, HttpBuilder, OAuth2, Scopes, SecurityScheme,
};
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
        storefronts::update::update, storefronts::publish::publish, storefronts::blocks::get, storefronts::blocks::put, storefronts::blocks::preview, drops::list::list, raffles::show::of_storefront, storefronts::slug::check,
        products::create::create, products::list::list, products::show::show, products::update::update,
        products::delete::delete, products::publish::publish, products::checkout::checkout,
        products::unpublish::unpublish, products::unpublish::archive, storefronts::publish::unpublish,
        drops::create::create, drops::show::show, drops::publish::publish, drops::log::log,
        drops::collaborators::invite, drops::collaborators::list, drops::collaborators::remove,
        drops::collaborators::mine, drops::collaborators::accept, drops::collaborators::splits,
        drops::update::update, drops::status::pause, drops::status::resume, drops::status::cancel,
        holds::create::create, holds::delete::delete, queue::join::join, queue::show::show,
        orders::checkout::checkout, orders::show::show, orders::webhook::config, orders::webhook::webhook, orders::refund::refund,
        orders::list::storefront_orders, orders::list::storefront_orders_csv, orders::list::my_orders, orders::payouts::mine, orders::payouts::account, orders::payouts::connect, orders::payouts::run, orders::payouts::list, orders::earnings::mine,
        orders::fulfil::fulfil, orders::fulfil::check_in, orders::memberships::mine,
        orders::memberships::cancel, orders::delivery::download,
        raffles::create::create, raffles::create::publish, raffles::create::cancel, raffles::create::close,
        raffles::show::show, raffles::show::list, raffles::show::me, raffles::show::my_tickets,
        raffles::show::proof, raffles::enter::enter, raffles::enter::bonus,
        raffles::draw::draw, raffles::draw::draw_own, raffles::draw::list,
        admin::users::list, admin::users::disable, admin::users::enable, admin::storefronts::list, orders::list::admin_orders,
        analytics::events::track, analytics::report::report, analytics::report::csv,
        analytics::report::export, analytics::privacy::delete,
        auth::account::export, auth::account::delete,
        pages::index, pages::storefront, pages::theme, pages::preview_theme, pages::drop_page, pages::raffle_page, pages::checkout_page, pages::signin_page, pages::signup_page, pages::forgot_page, pages::studio_page, pages::order_page, pages::account_page, pages::admin_page, pages::dashboard_page, pages::verify, pages::reset, pages::api_docs, pages::asset,
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
            // How a session is also obtained: a password-reset link is a one-time code sent
            // by mail (asked for on the `/forgot` page), exchanged for a session at
            // `POST /api/auth/password/reset` with a new password. Declared so that clients
            // (and checkers) know that operation mints credentials and answers an unknown
            // code with 400 `invalid_token`. Operations are called with `bearer`.
            c.add_security_scheme(
                "mailLink",
                SecurityScheme::OAuth2(OAuth2::with_description(
                    [Flow::AuthorizationCode(AuthorizationCode::new(
                        "/forgot",
                        "/api/auth/password/reset",
                        Scopes::new(),
                    ))],
                    "A password-reset link mailed to the account's address: its `token` and a \
                     new password, posted to the token URL as JSON, end every earlier session \
                     and answer a new one (as `POST /api/auth/login`).",
                )),
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
/// An absolute http(s) URL as `crate::domain::validate::http_url` takes it.
pub const HTTP_URL: &str = r"^https?://(([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)*[A-Za-z]([A-Za-z0-9-]*[A-Za-z0-9])?|((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9]))(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}|0))?(/[!-~]*)?$";
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

/// Text with something besides white space, over several lines (a text block's body).
pub const TEXT_MULTILINE_FILLED: &str = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$";

/// A block as a client sends it: one schema per type, each with only its own settings
/// (`crate::domain::blocks::validate` is the rule; a reference must also be one of the
/// storefront's own, which a schema cannot say).
pub struct BlockInputDoc;

impl utoipa::PartialSchema for BlockInputDoc {
    fn schema() -> RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{
            AdditionalProperties, KnownFormat, ObjectBuilder, OneOfBuilder, SchemaFormat, Type,
        };
        let text = |max: usize, pattern: &str| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(max))
                .pattern(Some(pattern))
                .build()
        };
        let formatted = |f: KnownFormat| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(f)))
                .build()
        };
        let email = ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Email)))
            .max_length(Some(254))
            .build();
        type Settings = Vec<(&'static str, utoipa::openapi::schema::Object, bool)>;
        let types: [(&str, Settings); 9] = [
            ("header", vec![]),
            ("socials", vec![]),
            ("links", vec![]),
            ("products", vec![]),
            (
                "product",
                vec![("product_id", formatted(KnownFormat::Uuid), true)],
            ),
            (
                "drop",
                vec![("drop_id", formatted(KnownFormat::Uuid), false)],
            ),
            (
                "raffle",
                vec![("raffle_id", formatted(KnownFormat::Uuid), false)],
            ),
            (
                "text",
                vec![
                    ("title", text(120, TEXT_LINE), false),
                    ("body", text(5000, TEXT_MULTILINE_FILLED), true),
                ],
            ),
            (
                "contact",
                vec![
                    ("title", text(120, TEXT_LINE), false),
                    ("email", email, true),
                ],
            ),
        ];
        let mut one = OneOfBuilder::new();
        for (ty, fields) in types {
            let needs_settings = fields.iter().any(|f| f.2);
            let mut settings = ObjectBuilder::new()
                .schema_type(Type::Object)
                .additional_properties(Some(AdditionalProperties::FreeForm(false)));
            for (name, schema, required) in fields {
                settings = settings.property(name, schema);
                if required {
                    settings = settings.required(name);
                }
            }
            let mut block = ObjectBuilder::new()
                .schema_type(Type::Object)
                .property(
                    "id",
                    ObjectBuilder::new()
                        .schema_type(utoipa::openapi::schema::SchemaType::Array(vec![
                            Type::String,
                            Type::Null,
                        ]))
                        .pattern(Some("^[A-Za-z0-9_-]{1,64}$"))
                        .description(Some(
                            "Unique on the page: made when absent, null or already used by an \
                             earlier block",
                        )),
                )
                .property(
                    "type",
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .enum_values(Some([ty])),
                )
                .required("type")
                .property("hidden", ObjectBuilder::new().schema_type(Type::Boolean))
                .property("settings", settings)
                .additional_properties(Some(AdditionalProperties::FreeForm(false)));
            if needs_settings {
                block = block.required("settings");
            }
            one = one.item(block);
        }
        one.into()
    }
}

impl ToSchema for BlockInputDoc {}

/// A product form's fields, common and of one kind (`crate::domain::product::details` is
/// the rule): each kind's own fields, which are required, and their bounds.
fn product_fields(
    kind: Option<crate::domain::product::Kind>,
    creating: bool,
) -> utoipa::openapi::schema::ObjectBuilder {
    use crate::domain::product::{Kind, MAX_CAPACITY, MAX_SHIPPING_CENTS, MAX_STOCK};
    use utoipa::openapi::schema::{
        AdditionalProperties, KnownFormat, ObjectBuilder, SchemaFormat, SchemaType, Type,
    };
    let int = |min: i64, max: i64, nullable: bool| {
        let t = if nullable {
            SchemaType::Array(vec![Type::Integer, Type::Null])
        } else {
            SchemaType::Type(Type::Integer)
        };
        ObjectBuilder::new()
            .schema_type(t)
            .minimum(Some(min))
            .maximum(Some(max))
            .build()
    };
    let string = |min: usize, max: usize, pattern: &str, nullable: bool| {
        let t = if nullable {
            SchemaType::Array(vec![Type::String, Type::Null])
        } else {
            SchemaType::Type(Type::String)
        };
        ObjectBuilder::new()
            .schema_type(t)
            .min_length(Some(min))
            .max_length(Some(max))
            .pattern(Some(pattern))
            .build()
    };
    let url = || string(1, 2048, HTTP_URL, false);
    // Changing, a `null` leaves a field as it is.
    let optional = !creating;
    let currency = if optional {
        utoipa::openapi::schema::OneOfBuilder::new()
            .item(<CurrencyCode as utoipa::PartialSchema>::schema())
            .item(ObjectBuilder::new().schema_type(Type::Null))
            .into()
    } else {
        <CurrencyCode as utoipa::PartialSchema>::schema()
    };
    let mut o = ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(AdditionalProperties::FreeForm(false)))
        .property("title", string(1, 120, TEXT_LINE, optional))
        .property("description", string(0, 5000, TEXT_MULTILINE, true))
        .property(
            "price_cents",
            int(0, crate::domain::money::MAX_CENTS, optional),
        )
        .property("currency", currency);
    if let Some(k) = kind {
        o = o
            .property(
                "kind",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some([k.as_str()])),
            )
            .required("kind");
    }
    if creating {
        o = o
            .required("title")
            .required("price_cents")
            .required("currency");
    }
    let kinds = match kind {
        Some(k) => vec![k],
        None => Kind::ALL.to_vec(),
    };
    for k in kinds {
        let fields: Vec<(&str, utoipa::openapi::schema::Object, bool)> = match k {
            Kind::Digital => vec![("download_url", url(), true)],
            Kind::Physical => vec![
                ("stock", int(0, MAX_STOCK, false), true),
                ("weight_grams", int(0, 1_000_000, true), false),
                ("shipping_cents", int(0, MAX_SHIPPING_CENTS, true), false),
            ],
            Kind::Service => vec![("duration_minutes", int(1, 10_080, true), false)],
            Kind::Membership => vec![(
                "billing_interval",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(["month", "year"]))
                    .build(),
                true,
            )],
            Kind::Tip => vec![(
                "min_cents",
                int(0, crate::domain::money::MAX_CENTS, false),
                true,
            )],
            Kind::Link => vec![("url", url(), true)],
            Kind::Event => vec![
                (
                    "starts_at",
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
                        .build(),
                    true,
                ),
                ("capacity", int(1, MAX_CAPACITY, false), true),
                ("location", string(1, 200, TEXT_LINE, true), false),
            ],
        };
        for (name, schema, required) in fields {
            o = o.property(name, schema);
            if required && creating {
                o = o.required(name);
            }
        }
    }
    o
}

/// `POST /api/storefronts/{id}/products`: one schema per kind.
pub struct CreateProductDoc;

impl utoipa::PartialSchema for CreateProductDoc {
    fn schema() -> RefOr<utoipa::openapi::schema::Schema> {
        let mut one = utoipa::openapi::schema::OneOfBuilder::new();
        for k in crate::domain::product::Kind::ALL {
            one = one.item(product_fields(Some(k), true));
        }
        one.into()
    }
}

impl ToSchema for CreateProductDoc {}

/// `PATCH /api/products/{id}`: the fields to change. Kind-specific fields must be of the
/// product's own kind (409 `wrong_kind` otherwise: the kind is the product's, not the
/// request's); the kind itself never changes.
pub struct UpdateProductDoc;

impl utoipa::PartialSchema for UpdateProductDoc {
    fn schema() -> RefOr<utoipa::openapi::schema::Schema> {
        product_fields(None, false).into()
    }
}

impl ToSchema for UpdateProductDoc {}

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
    ("413", "PayloadTooLarge", "`payload_too_large`: the body is over the route's limit: 64 KiB, 128 KiB for a product form, 512 KiB for a storefront form, 4 MiB for a page of blocks; every body the schema allows is under it"),
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
                [
                    TEXT_LINE,
                    TEXT_MULTILINE,
                    TEXT_MULTILINE_FILLED,
                    NO_CONTROL,
                    path.as_str()
                ]
                .contains(&p.as_str()),
                "{p}"
            );
        }
        // URL fields: the rule of `validate::http_url`, or it or nothing.
        let optional = format!("^({})?$", &HTTP_URL[1..HTTP_URL.len() - 1]);
        let urls: Vec<_> = found.iter().filter(|p| p.contains("https?")).collect();
        assert!(urls.len() >= 3, "{urls:?}");
        for p in urls {
            assert!([HTTP_URL, optional.as_str()].contains(&p.as_str()), "{p}");
        }
    }
}
