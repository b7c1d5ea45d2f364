//! Who is calling: password hashing, access tokens (JWT) and the request extractors.
//!
//! Access tokens are HS256 JWTs that live 15 minutes; the algorithm is pinned, and `exp`,
//! `iss` and `aud` are checked, so a token from another service or an `alg: none` token is
//! refused. Refresh tokens are opaque random strings stored as SHA-256 hashes, rotated on
//! every use (see `db::models::token`).

pub mod password;
pub mod revoked;

use std::future::{ready, Ready};

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpRequest};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

pub use crate::domain::account::{hash_token, opaque_token, Role};
use crate::domain::ids::UserId;
use crate::error::AppError;
use crate::state::AppState;

/// Access token lifetime. Short, because a JWT cannot be revoked before it expires; the
/// refresh token (revocable, rotated) carries the session.
pub const ACCESS_TTL_SECS: i64 = 15 * 60;
pub const ISSUER: &str = "livedrop";
pub const AUDIENCE: &str = "livedrop-api";

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: UserId,
    pub role: Role,
    /// Whether the email was verified when the token was issued.
    pub ev: bool,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
}

#[derive(Clone)]
pub struct JwtKeys {
    enc: EncodingKey,
    dec: DecodingKey,
    validation: Validation,
}

impl JwtKeys {
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        JwtKeys {
            enc: EncodingKey::from_secret(secret),
            dec: DecodingKey::from_secret(secret),
            validation,
        }
    }

    pub fn issue(
        &self,
        user: UserId,
        role: Role,
        verified: bool,
        now: i64,
    ) -> Result<String, AppError> {
        let claims = Claims {
            sub: user,
            role,
            ev: verified,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: now,
            exp: now + ACCESS_TTL_SECS,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.enc)
            .map_err(AppError::internal)
    }

    pub fn verify(&self, token: &str) -> Result<Claims, AppError> {
        jsonwebtoken::decode::<Claims>(token, &self.dec, &self.validation)
            .map(|d| d.claims)
            .map_err(|_| AppError::Unauthorized("invalid or expired access token"))
    }
}

/// The caller, from a valid `Authorization: Bearer` access token.
#[derive(Debug, Clone, Copy)]
pub struct AuthUser {
    pub id: UserId,
    pub role: Role,
    pub verified: bool,
}

impl AuthUser {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Creators (and admins) only.
    pub fn require_creator(&self) -> Result<(), AppError> {
        match self.role {
            Role::Creator | Role::Admin => Ok(()),
            Role::Buyer => Err(AppError::Forbidden("only creators may do this")),
        }
    }

    pub fn require_admin(&self) -> Result<(), AppError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(AppError::Forbidden("only admins may do this"))
        }
    }
}

fn bearer(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

fn authenticate(req: &HttpRequest) -> Result<Option<AuthUser>, AppError> {
    let Some(token) = bearer(req) else {
        if req.headers().contains_key(header::AUTHORIZATION) {
            return Err(AppError::Unauthorized(
                "use an `Authorization: Bearer` token",
            ));
        }
        return Ok(None);
    };
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or(AppError::Internal)?;
    let c = state.jwt.verify(token)?;
    if state.revoked.contains(c.sub) {
        return Err(AppError::Unauthorized("the account no longer exists"));
    }
    Ok(Some(AuthUser {
        id: c.sub,
        role: c.role,
        verified: c.ev,
    }))
}

impl FromRequest for AuthUser {
    type Error = AppError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req).and_then(|u| u.ok_or(AppError::Unauthorized("sign in first"))))
    }
}

/// The caller if they sent a token; a bad token is still refused.
#[derive(Debug, Clone, Copy)]
pub struct MaybeAuth(pub Option<AuthUser>);

impl FromRequest for MaybeAuth {
    type Error = AppError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req).map(MaybeAuth))
    }
}

/// Publishing needs a verified email. The token says so when it was issued verified; a
/// token issued before the user clicked the link is checked against the store, so nobody
/// has to sign in again after verifying.
pub async fn ensure_verified(state: &AppState, who: &AuthUser) -> Result<(), AppError> {
    if who.verified {
        return Ok(());
    }
    match crate::db::models::user::find(&state.store, who.id).await? {
        Some(u) if u.verified() => Ok(()),
        _ => Err(AppError::EmailUnverified),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_foreign_ones_are_refused() {
        let k = JwtKeys::new(b"0123456789abcdef0123456789abcdef");
        let now = chrono::Utc::now().timestamp();
        let id = UserId::new();
        let t = k.issue(id, Role::Creator, true, now).unwrap();
        let c = k.verify(&t).unwrap();
        assert_eq!(c.sub, id);
        assert_eq!(c.role, Role::Creator);

        let other = JwtKeys::new(b"another-secret-another-secret-xx");
        assert!(other.verify(&t).is_err());
        let expired = k.issue(id, Role::Buyer, true, now - 3600).unwrap();
        assert!(k.verify(&expired).is_err());
        // alg=none
        let none = format!(
            "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.",
            t.split('.').nth(1).unwrap()
        );
        assert!(k.verify(&none).is_err());
    }

    #[test]
    fn opaque_tokens_are_random_and_hashed() {
        let (a, ha) = opaque_token();
        let (b, _) = opaque_token();
        assert_ne!(a, b);
        assert_eq!(hash_token(&a), ha);
        assert_eq!(ha.len(), 64);
    }
}
