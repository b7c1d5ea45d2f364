//! How request bodies, paths and queries that cannot be read become [`AppError`]s.

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::{web, HttpRequest};

use crate::error::AppError;

/// Largest JSON body a route accepts unless it says otherwise (`Json<T, LIMIT>`). Each
/// route's limit is above the largest body its documented schema allows, counting every
/// character at its longest JSON escape (12 bytes, a `\uXXXX` surrogate pair), so that
/// a valid form is never refused for its size.
pub const JSON_LIMIT: usize = 64 * 1024;
/// A product form: a 5,000-character description alone can be 60 KB escaped.
pub const PRODUCT_FORM_LIMIT: usize = 128 * 1024;
/// A storefront form: up to 50 links of 2,048-character addresses.
pub const STOREFRONT_FORM_LIMIT: usize = 512 * 1024;
/// A storefront's page: up to 40 blocks, a text block up to 5,000 characters.
pub const PAGE_FORM_LIMIT: usize = 4 * 1024 * 1024;

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

/// A JSON object body read into `T`: the same limit, content type and error answers as
/// `web::Json` (through [`json_config`]), and two rules of the documented schema that serde
/// alone does not keep:
/// * a whole-number float (`1.0`, `1e3`) is an integer, as JSON Schema says, so integer
///   fields take it;
/// * the body is an object (serde would also fill a struct from an array).
///
/// Every form handler takes its body through this extractor, so the rules hold everywhere.
pub struct Json<T, const LIMIT: usize = JSON_LIMIT>(pub T);

impl<T, const LIMIT: usize> Json<T, LIMIT> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T, const LIMIT: usize> std::ops::Deref for Json<T, LIMIT> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: serde::de::DeserializeOwned + 'static, const LIMIT: usize> actix_web::FromRequest
    for Json<T, LIMIT>
{
    type Error = actix_web::Error;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let body = actix_web::dev::JsonBody::<serde_json::Value>::new(req, payload, None, true)
            .limit(LIMIT);
        Box::pin(async move {
            let value = body.await.map_err(json_error)?;
            Ok(Json(form_from_value(value)?))
        })
    }
}

/// A parsed body read into `T` by the rules of [`Json`] (an object; whole-number floats
/// are integers), for handlers whose body is optional.
pub fn form_from_value<T: serde::de::DeserializeOwned>(
    mut value: serde_json::Value,
) -> Result<T, AppError> {
    if !value.is_object() {
        return Err(AppError::InvalidJson(
            "the body is not a JSON object".into(),
        ));
    }
    whole_floats_to_integers(&mut value);
    serde_json::from_value(value).map_err(|e| {
        AppError::InvalidJson(format!("the body does not have the expected fields: {e}"))
    })
}

/// Rewrites every float with no fractional part that fits an `i64` (or a `u64`) as that
/// integer, at any depth.
pub fn whole_floats_to_integers(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Number(n) if n.is_f64() => {
            let Some(f) = n.as_f64() else { return };
            if f.fract() != 0.0 {
                return;
            }
            // 2^63 and 2^64 are exact as f64: the ranges are half-open.
            if (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&f) {
                *value = Value::from(f as i64);
            } else if (0.0..18_446_744_073_709_551_616.0).contains(&f) {
                *value = Value::from(f as u64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(whole_floats_to_integers),
        Value::Object(fields) => fields.values_mut().for_each(whole_floats_to_integers),
        _ => {}
    }
}

/// Longest `Idempotency-Key` we keep.
pub const MAX_IDEMPOTENCY_KEY: usize = 200;

/// The request's `Idempotency-Key`, if it sent one: 1 to 200 visible ASCII characters,
/// else a 400.
pub fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, AppError> {
    let Some(v) = req.headers().get("idempotency-key") else {
        return Ok(None);
    };
    let k = v.to_str().unwrap_or("").trim().to_string();
    if k.is_empty() || k.len() > MAX_IDEMPOTENCY_KEY || !k.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AppError::BadRequest(format!(
            "Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters"
        )));
    }
    Ok(Some(k))
}

#[cfg(test)]
mod tests {
    use super::whole_floats_to_integers;
    use serde_json::json;

    #[test]
    fn whole_floats_become_integers_at_any_depth() {
        let mut v: serde_json::Value =
            serde_json::from_str(r#"{"a":1.0,"b":[-2.0,{"c":1e3}],"d":1.5,"e":1e30,"f":-0.0}"#)
                .unwrap();
        whole_floats_to_integers(&mut v);
        assert_eq!(v["a"], json!(1));
        assert!(v["a"].is_i64());
        assert_eq!(v["b"][0], json!(-2));
        assert_eq!(v["b"][1]["c"], json!(1000));
        assert!(v["d"].is_f64(), "a fraction stays a float");
        assert!(v["e"].is_f64(), "out of range stays a float");
        assert_eq!(v["f"], json!(0));
    }
}
