//! Outgoing mail. Code that mails calls [`queue::MailQueue::send`] (`state.mail(…)`),
//! which commits the mail to the store and returns; each node's sender delivers it through
//! a transport, a [`Mailer`]: embedded mode writes `.eml` files to `data_dir/outbox/`
//! ([`OutboxMailer`]); cluster mode sends through an SMTP relay with lettre over rustls
//! ([`smtp::SmtpMailer`]).

pub mod queue;
pub mod sale;
pub mod smtp;

use std::path::PathBuf;

use async_trait::async_trait;
use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::Message;

use crate::error::{AppError, AppResult};

/// One mail to one recipient, with a plain-text body and an optional HTML one.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
}

/// Why a transport did not take a mail, as the transport said it (kept in the queue's
/// `last_error` and logged; never shown to a client).
#[derive(Debug, Clone)]
pub struct SendError(pub String);

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl SendError {
    fn of(e: impl std::fmt::Display) -> Self {
        SendError(e.to_string())
    }
}

/// A transport: hands one mail to the relay (or the outbox) now, or says why not. Only
/// the queue's sender calls it; the queue retries what fails.
#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    async fn send(&self, mail: Mail) -> Result<(), SendError>;
}

/// Build the RFC 5322 message both mailers send or store.
pub fn build_message(from: &Mailbox, mail: &Mail) -> AppResult<Message> {
    let to: Mailbox = mail
        .to
        .parse()
        .map_err(|_| AppError::field("email", "is not an email address"))?;
    let builder = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject.clone());
    let msg = match &mail.html {
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(
            mail.text.clone(),
            html.clone(),
        )),
        None => builder.singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(mail.text.clone()),
        ),
    };
    msg.map_err(AppError::internal)
}

/// Writes each mail as `{outbox}/{time}-{uuid}.eml`, readable by any mail client.
pub struct OutboxMailer {
    dir: PathBuf,
    from: Mailbox,
}

impl OutboxMailer {
    pub fn new(dir: PathBuf, from: Mailbox) -> Result<Self, String> {
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create the outbox {}: {e}", dir.display()))?;
        Ok(OutboxMailer { dir, from })
    }
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, mail: Mail) -> Result<(), SendError> {
        let msg = build_message(&self.from, &mail).map_err(SendError::of)?;
        let name = format!(
            "{}-{}.eml",
            chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ"),
            uuid::Uuid::now_v7()
        );
        // Write then rename, so a reader never sees half a mail.
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let path = self.dir.join(&name);
        if let Err(e) = tokio::fs::write(&tmp, msg.formatted()).await {
            // A full disk leaves part of a file; the next attempt writes a new one.
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(SendError(format!("writing {}: {e}", tmp.display())));
        }
        tokio::fs::rename(&tmp, &path)
            .await
            .map_err(|e| SendError(format!("renaming to {}: {e}", path.display())))?;
        tracing::info!(path = %path.display(), "mail written to the outbox");
        Ok(())
    }
}
