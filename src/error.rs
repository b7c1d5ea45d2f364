//! The one error type of the service, and its policy.
//!
//! Policy:
//! * Every failure a client can see is an [`AppError`] variant. Each variant has a stable
//!   snake_case `code()` that clients may match on, and one HTTP status.
//! * The body is always `{"error": {"code", "message"}}` (plus `fields` for 422). The message
//!   is written for a person and never carries an internal cause: driver errors, SQL, paths
//!   and stack traces are logged with `tracing` (with the request id) and stay on the server.
//! * A client mistake is a 4xx. A 5xx means the service itself is in trouble: 503 when the
//!   store or cache cannot be reached, 500 only for a bug we did not foresee. (A mail relay
//!   that cannot be reached is no error of a request: mail waits in the queue.)
//! * Conversions from library errors (`diesel`, `deadpool`, `redis`, …) live here, so that a
//!   handler can use `?` and still land on the right variant.

use std::collections::BTreeMap;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

/// Per-field validation messages, keyed by the field's JSON name (dotted for nested fields).
pub type FieldErrors = BTreeMap<String, String>;

#[derive(Debug, Clone, thiserror::Error)]
pub enum AppError {
    /// The body is not JSON, or not of the expected shape.
    #[error("{0}")]
    InvalidJson(String),
    /// A query string or other non-body input could not be read.
    #[error("{0}")]
    BadRequest(String),
    /// Input refused with a code of its own, as a 400 (`invalid_event`, `event_too_large`).
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    /// The input is well-formed but some fields are not acceptable.
    #[error("validation failed")]
    Validation(FieldErrors),
    /// No credentials, or credentials that are not (or no longer) valid.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// Login with an unknown email or a wrong password: one answer for both, so the
    /// endpoint cannot be used to find out who has an account.
    #[error("the email or password is not right")]
    InvalidCredentials,
    /// A mailed link's token that is unknown, used, expired or for another purpose.
    #[error("this link is not valid or has expired")]
    InvalidToken,
    /// A mailed link that no longer leads anywhere (a used or expired verification link,
    /// an expired or tampered download link): a 404, like any address that does not exist.
    #[error("this link is not valid or has expired")]
    UnknownLink,
    /// The account must confirm its email before doing this (publishing).
    #[error("confirm your email address first")]
    EmailUnverified,
    /// Valid credentials without the right to do this.
    #[error("{0}")]
    Forbidden(&'static str),
    /// The thing does not exist, or the caller may not know that it does.
    #[error("not found")]
    NotFound,
    /// A state conflict with a stable code of its own (`slug_taken`, `sold_out`, …).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// Too many requests; `retry_after` is in whole seconds.
    #[error("too many requests")]
    RateLimited { retry_after: u64 },
    /// The path exists but not with this method (the answer carries `Allow`).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The body is larger than the route accepts.
    #[error("request body too large")]
    PayloadTooLarge,
    /// The body has a content type the route does not accept.
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// A dependency (store, cache) cannot be reached right now.
    #[error("service unavailable")]
    Unavailable,
    /// A bug. The cause is logged, never sent.
    #[error("internal error")]
    Internal,
}

impl AppError {
    pub fn code(&self) -> &'static str {
        match self {
            AppError::InvalidJson(_) => "invalid_json",
            AppError::BadRequest(_) => "bad_request",
            AppError::Invalid { code, .. } => code,
            AppError::Validation(_) => "validation_failed",
            AppError::Unauthorized(_) => "unauthorized",
            AppError::InvalidCredentials => "invalid_credentials",
            AppError::InvalidToken => "invalid_token",
            AppError::UnknownLink => "invalid_link",
            AppError::Forbidden(_) => "forbidden",
            AppError::EmailUnverified => "email_unverified",
            AppError::NotFound => "not_found",
            AppError::Conflict { code, .. } => code,
            AppError::RateLimited { .. } => "rate_limited",
            AppError::MethodNotAllowed => "method_not_allowed",
            AppError::PayloadTooLarge => "payload_too_large",
            AppError::UnsupportedMediaType => "unsupported_media_type",
            AppError::Unavailable => "service_unavailable",
            AppError::Internal => "internal_error",
        }
    }

    /// A conflict with its own code.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        AppError::Conflict {
            code,
            message: message.into(),
        }
    }

    /// A validation error on one field.
    pub fn field(name: &str, message: impl Into<String>) -> Self {
        let mut fields = FieldErrors::new();
        fields.insert(name.to_string(), message.into());
        AppError::Validation(fields)
    }

    /// Log `cause` and return [`AppError::Internal`].
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        AppError::Internal
    }

    /// Log `cause` and return [`AppError::Unavailable`].
    pub fn unavailable(cause: impl std::fmt::Display) -> Self {
        tracing::warn!(%cause, "dependency unavailable");
        AppError::Unavailable
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: &'a str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    fields: Option<&'a FieldErrors>,
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::InvalidJson(_) | AppError::BadRequest(_) | AppError::Invalid { .. } => {
                StatusCode::BAD_REQUEST
            }
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unauthorized(_) | AppError::InvalidCredentials => StatusCode::UNAUTHORIZED,
            AppError::InvalidToken => StatusCode::BAD_REQUEST,
            AppError::UnknownLink => StatusCode::NOT_FOUND,
            AppError::Forbidden(_) | AppError::EmailUnverified => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let message = match self {
            AppError::Validation(_) => "some fields are not valid".to_string(),
            AppError::NotFound => "not found".to_string(),
            AppError::RateLimited { .. } => "too many requests, slow down".to_string(),
            other => other.to_string(),
        };
        let fields = match self {
            AppError::Validation(f) => Some(f),
            _ => None,
        };
        let mut resp = HttpResponse::build(self.status_code());
        if let AppError::RateLimited { retry_after } = self {
            resp.insert_header((header::RETRY_AFTER, retry_after.max(&1).to_string()));
        }
        if let AppError::Unavailable = self {
            resp.insert_header((header::RETRY_AFTER, "1"));
        }
        resp.json(ErrorBody {
            error: ErrorDetail {
                code: self.code(),
                message,
                fields,
            },
        })
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::NotFound => AppError::NotFound,
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                AppError::conflict("conflict", "that already exists")
            }
            // The connection broke under the query (the server went away or restarted).
            Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                info,
            ) => AppError::unavailable(info.message()),
            Error::DatabaseError(_, ref info) if store_unavailable(info.message()) => {
                AppError::unavailable(info.message())
            }
            other => AppError::internal(other),
        }
    }
}

/// Store errors that say the store cannot serve right now (busy, out of room, shutting
/// down or starting up), not that the query is wrong. Both backends report them as
/// `DatabaseErrorKind::Unknown`, and Diesel does not pass Postgres' SQLSTATE on, so the
/// messages are matched: SQLite's own (`SQLITE_BUSY`, `SQLITE_FULL`, `SQLITE_IOERR`) and
/// Postgres' for SQLSTATE classes 53 (insufficient resources) and 57P (operator
/// intervention), as the server words them with its default `lc_messages`.
fn store_unavailable(message: &str) -> bool {
    const MARKS: &[&str] = &[
        // SQLite
        "database is locked",
        "database is busy",
        "database or disk is full",
        "disk I/O error",
        // Postgres
        "terminating connection due to",
        "terminating connection because of crash",
        "the database system is",
        "could not extend file",
        "No space left on device",
        "too many clients",
    ];
    MARKS.iter().any(|m| message.contains(m))
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for AppError {
    fn from(e: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        AppError::unavailable(e)
    }
}

impl From<redis::RedisError> for AppError {
    fn from(e: redis::RedisError) -> Self {
        AppError::unavailable(e)
    }
}

pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use diesel::result::{DatabaseErrorKind, Error};

    use super::AppError;

    fn db(kind: DatabaseErrorKind, message: &str) -> AppError {
        Error::DatabaseError(kind, Box::new(message.to_string())).into()
    }

    #[test]
    fn a_store_that_went_away_or_is_full_is_unavailable_not_a_bug() {
        for (kind, message) in [
            (DatabaseErrorKind::UnableToSendCommand, "connection closed"),
            (
                DatabaseErrorKind::ClosedConnection,
                "server closed the connection",
            ),
            (DatabaseErrorKind::Unknown, "database or disk is full"),
            (DatabaseErrorKind::Unknown, "database is locked"),
            (DatabaseErrorKind::Unknown, "disk I/O error"),
            (
                DatabaseErrorKind::Unknown,
                "terminating connection due to administrator command",
            ),
            (
                DatabaseErrorKind::Unknown,
                "the database system is shutting down",
            ),
            (
                DatabaseErrorKind::Unknown,
                "could not extend file \"base/5/16384\": No space left on device",
            ),
        ] {
            assert!(
                matches!(db(kind, message), AppError::Unavailable),
                "{message}"
            );
        }
    }

    #[test]
    fn other_store_errors_stay_internal() {
        assert!(matches!(
            db(
                DatabaseErrorKind::Unknown,
                "syntax error at or near \"SELEC\""
            ),
            AppError::Internal
        ));
        assert!(matches!(
            db(
                DatabaseErrorKind::CheckViolation,
                "violates check constraint"
            ),
            AppError::Internal
        ));
    }
}
