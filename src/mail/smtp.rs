//! SMTP mailer (cluster mode), lettre over rustls.

use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::{build_message, Mail, Mailer, SendError};

pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    /// `smtp://host:port` (STARTTLS when offered is not forced), `smtps://` for implicit TLS;
    /// see lettre's `from_url` for the options.
    pub fn new(url: &str, from: Mailbox) -> Result<Self, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("SMTP_URL: {e}"))?
            .build();
        Ok(SmtpMailer { transport, from })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: Mail) -> Result<(), SendError> {
        let msg = build_message(&self.from, &mail).map_err(SendError::of)?;
        self.transport.send(msg).await.map_err(SendError::of)?;
        Ok(())
    }
}
