//! argon2id password hashes (PHC strings). Hashing is CPU-heavy by design, so it runs on
//! the blocking pool, never on an actix worker thread.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use std::sync::OnceLock;

use crate::error::AppError;

/// A job for a hashing thread: runs one argon2 computation and sends its result.
type Job = Box<dyn FnOnce() + Send>;

/// The process's hashing threads, one per core, fed in arrival order from one queue.
///
/// argon2id holds ~19 MiB for tens of milliseconds per run. Run on the blocking pool, a
/// flood of requests that hash (sign-in, sign-up, reset, account deletion) took memory
/// without limit — 50 clients took a node to 5.6 GiB, and even with the number of runs
/// bounded, each of the pool's many threads kept its freed 19 MiB in its own malloc arena.
/// On a fixed set of threads, hashing memory is at most `threads × 19 MiB` for good, and a
/// burst of sign-ups all succeed, just later.
fn hashers() -> Option<&'static std::sync::Mutex<std::sync::mpsc::Sender<Job>>> {
    static QUEUE: OnceLock<Option<std::sync::Mutex<std::sync::mpsc::Sender<Job>>>> =
        OnceLock::new();
    QUEUE
        .get_or_init(|| {
            let (tx, rx) = std::sync::mpsc::channel::<Job>();
            let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
            let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
            for i in 0..threads {
                let rx = rx.clone();
                let spawned = std::thread::Builder::new()
                    .name(format!("argon2-{i}"))
                    .spawn(move || loop {
                        // The lock is held only to take the next job, not while it runs.
                        let job = match rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    });
                if let Err(e) = spawned {
                    tracing::error!(error = %e, "hashing thread not started");
                    return None;
                }
            }
            Some(std::sync::Mutex::new(tx))
        })
        .as_ref()
}

/// Run one argon2 computation on a hashing thread, waiting its turn.
async fn bounded<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = tx.send(work());
    });
    hashers()
        .ok_or(AppError::Internal)?
        .lock()
        .map_err(|_| AppError::Internal)?
        .send(job)
        .map_err(AppError::internal)?;
    rx.await.map_err(AppError::internal)?
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
