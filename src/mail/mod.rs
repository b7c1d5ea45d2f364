//! Outgoing mail. Embedded mode writes `.eml` files to `data_dir/outbox/` ([`OutboxMailer`]);
//! cluster mode sends through an SMTP relay with lettre over rustls ([`smtp::SmtpMailer`]).

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

#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    async fn send(&self, mail: Mail) -> AppResult<()>;
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
    async fn send(&self, mail: Mail) -> AppResult<()> {
        let msg = build_message(&self.from, &mail)?;
        let name = format!(
            "{}-{}.eml",
            chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ"),
            uuid::Uuid::now_v7()
        );
        // Write then rename, so a reader never sees half a mail.
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let path = self.dir.join(&name);
        tokio::fs::write(&tmp, msg.formatted())
            .await
            .map_err(AppError::unavailable)?;
        tokio::fs::rename(&tmp, &path)
            .await
            .map_err(AppError::unavailable)?;
        tracing::info!(path = %path.display(), "mail written to the outbox");
        Ok(())
    }
}
