//! argon2id password hashes (PHC strings). Hashing is CPU-heavy by design, so it runs on
//! the blocking pool, never on an actix worker thread.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use std::sync::OnceLock;

use crate::error::AppError;

/// At most this many argon2 computations run at once in the process; the rest wait their
/// turn (in arrival order) instead of being refused. Each one holds ~19 MiB (argon2id's
/// default memory cost) for tens of milliseconds, so without a bound a flood of requests
/// that hash (sign-in, sign-up, reset, account deletion) takes memory without limit: 50
/// clients took a node to 5.6 GiB. With it, hashing memory is `permits × 19 MiB`, and a
/// burst of sign-ups all succeed, just later.
fn permits() -> &'static tokio::sync::Semaphore {
    static HASHING: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    HASHING.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        tokio::sync::Semaphore::new(cores)
    })
}

/// Run one argon2 computation on the blocking pool, within the process's bound.
async fn bounded<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    let _permit = permits().acquire().await.map_err(AppError::internal)?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(AppError::internal)?
}

pub async fn hash(password: String) -> Result<String, AppError> {
    bounded(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(AppError::internal)
    })
    .await
}

/// `true` when `password` matches the stored hash.
pub async fn verify(password: String, phc: String) -> Result<bool, AppError> {
    bounded(move || {
        let parsed = PasswordHash::new(&phc).map_err(AppError::internal)?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
}

/// Spend the same time as [`verify`] for an email nobody has, so that an unknown email
/// and a wrong password cannot be told apart by timing. Always `false`.
pub async fn verify_unknown(password: String) -> Result<bool, AppError> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let phc = bounded(|| {
        Ok(DUMMY
            .get_or_init(|| {
                let salt = SaltString::generate(&mut OsRng);
                Argon2::default()
                    .hash_password(b"not a password anyone has", &salt)
                    .map(|h| h.to_string())
                    .unwrap_or_default()
            })
            .clone())
    })
    .await?;
    let _ = verify(password, phc).await;
    Ok(false)
}
