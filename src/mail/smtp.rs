//! SMTP mailer (cluster mode), lettre over rustls.

use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::{build_message, Mail, Mailer, SendError};

pub struct SmtpMailer {
    /// `None` only while it is being dropped (see [`Drop`] below).
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
    /// The runtime the mailer was made on, to drop its connection pool in.
    runtime: Option<tokio::runtime::Handle>,
}

impl SmtpMailer {
    /// `smtp://host:port` (STARTTLS when offered is not forced), `smtps://` for implicit TLS;
    /// see lettre's `from_url` for the options.
    pub fn new(url: &str, from: Mailbox) -> Result<Self, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("SMTP_URL: {e}"))?
            .build();
        Ok(SmtpMailer {
            transport: Some(transport),
            from,
            runtime: tokio::runtime::Handle::try_current().ok(),
        })
    }
}

/// lettre's connection pool closes its connections in a task it spawns when it is
/// dropped, and spawning panics on a thread outside any Tokio runtime. The last holder of
/// the node's state can be such a thread (an actor's arbiter winding down after its
/// runtime), so the pool is dropped inside the runtime the mailer was made on; once that
/// runtime has shut down, the spawned task is simply discarded with its connections.
impl Drop for SmtpMailer {
    fn drop(&mut self) {
        let transport = self.transport.take();
        let _inside = self.runtime.as_ref().map(|r| r.enter());
        drop(transport);
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: Mail) -> Result<(), SendError> {
        let msg = build_message(&self.from, &mail).map_err(SendError::of)?;
        let Some(transport) = self.transport.clone() else {
            return Err(SendError::of("the mailer is shutting down"));
        };
        // The send runs as a task of the runtime, not inside the caller's future: a send
        // cut short drops lettre's pooled connection, whose drop spawns a task, and the
        // mail queue's future (an actor's, on a LocalSet) is dropped at shutdown outside
        // the runtime's context, where spawning panics. Cutting the caller short (the
        // queue's timeout) still cuts the send: the task is aborted with its handle.
        let mut task = Abort(tokio::spawn(async move { transport.send(msg).await }));
        (&mut task.0)
            .await
            .map_err(SendError::of)?
            .map_err(SendError::of)?;
        Ok(())
    }
}

/// A task aborted when its handle is dropped.
struct Abort<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for Abort<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
