//! argon2id password hashes (PHC strings). Hashing is CPU-heavy by design, so it runs on
//! the blocking pool, never on an actix worker thread.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use std::sync::OnceLock;

use crate::error::AppError;

pub async fn hash(password: String) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(AppError::internal)
    })
    .await
    .map_err(AppError::internal)?
}

/// `true` when `password` matches the stored hash.
pub async fn verify(password: String, phc: String) -> Result<bool, AppError> {
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&phc).map_err(AppError::internal)?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .map_err(AppError::internal)?
}

/// Spend the same time as [`verify`] for an email nobody has, so that an unknown email
/// and a wrong password cannot be told apart by timing. Always `false`.
pub async fn verify_unknown(password: String) -> Result<bool, AppError> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let phc = tokio::task::spawn_blocking(|| {
        DUMMY
            .get_or_init(|| {
                let salt = SaltString::generate(&mut OsRng);
                Argon2::default()
                    .hash_password(b"not a password anyone has", &salt)
                    .map(|h| h.to_string())
                    .unwrap_or_default()
            })
            .clone()
    })
    .await
    .map_err(AppError::internal)?;
    let _ = verify(password, phc).await;
    Ok(false)
}
