//! How request bodies, paths and queries that cannot be read become [`AppError`]s.

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::{web, HttpRequest};

use crate::error::AppError;

/// Largest JSON body any route accepts. Forms here are small; a storefront with its links
/// is well under this.
pub const JSON_LIMIT: usize = 64 * 1024;

pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(JSON_LIMIT)
        .error_handler(|e, _req: &HttpRequest| json_error(e).into())
}

fn json_error(e: JsonPayloadError) -> AppError {
    match e {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            AppError::PayloadTooLarge
        }
        JsonPayloadError::ContentType => AppError::UnsupportedMediaType,
        JsonPayloadError::Deserialize(d) => AppError::InvalidJson(match d.classify() {
            serde_json::error::Category::Data => {
                format!("the body does not have the expected fields: {d}")
            }
            _ => "the body is not valid JSON".to_string(),
        }),
        JsonPayloadError::Payload(actix_web::error::PayloadError::Overflow) => {
            AppError::PayloadTooLarge
        }
        _ => AppError::InvalidJson("the body could not be read".into()),
    }
}

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|_e: PathError, _| AppError::NotFound.into())
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|e: QueryPayloadError, _| {
        AppError::BadRequest(format!("the query string is not valid: {e}")).into()
    })
}
