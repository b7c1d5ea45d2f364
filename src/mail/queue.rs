//! Mail that is never lost. Sending a mail commits it to the store's `mail_queue` and
//! wakes this node's sender; the request that mailed never waits on the relay. The sender
//! (one task per node, started with the server) claims due rows, hands each to the
//! transport ([`Mailer`]: SMTP or the outbox), marks it sent, and on failure keeps it and
//! tries again later, waiting twice as long each time from [`FIRST_RETRY`] up to
//! [`MAX_RETRY`]. A relay that is down for an hour delays mail by about an hour, and a
//! node that dies leaves its mail to the next node (or itself, restarted).
//!
//! Rows are claimed with a lease (see `db::models::mail`), so with several nodes each row
//! is sent by one of them at a time. A node that dies between the relay's "OK" and marking
//! the row sent sends that mail again once its lease lapses: delivery is at-least-once,
//! the usual promise of mail.

use std::sync::Arc;
use std::time::Duration;

use lettre::message::Mailbox;
use tokio::sync::Notify;

use super::{build_message, Mail, Mailer};
use crate::clock::Clock;
use crate::db::models::mail::{self as model, MailRow};
use crate::db::Store;
use crate::error::AppResult;

/// The wait after a first failure; each further failure doubles it.
pub const FIRST_RETRY: Duration = Duration::from_secs(1);
/// The longest wait between two attempts: a relay back from an outage gets its mail
/// within five minutes, and a long outage costs one attempt per mail per five minutes.
pub const MAX_RETRY: Duration = Duration::from_secs(300);
/// How long one attempt may take before it counts as failed. lettre's own SMTP timeout
/// is a minute per command; a relay that slow is as good as down.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a claim lasts: longer than any attempt (an attempt is cut at
/// [`SEND_TIMEOUT`]), so a live sender never loses its row to another node mid-send. It
/// is also how long the mail of a node that died mid-send waits for another sender.
pub const LEASE: Duration = Duration::from_secs(60);
/// How often an idle sender looks for rows it was not woken for: mail another node
/// accepted and could not deliver (it died), or whose retry time came.
pub const IDLE_POLL: Duration = Duration::from_secs(5);
/// Rows claimed at once. All of a batch is sent at once (so every claimed row starts its
/// attempt at once and ends it within [`SEND_TIMEOUT`], well inside its lease), and a
/// relay is not hit by more than this many connections per node.
const BATCH: i64 = 8;
/// The shortest sleep between two rounds, so a row that is due but cannot be claimed
/// (its claim is being released) does not spin the sender.
const MIN_WAIT: Duration = Duration::from_millis(10);
/// Sent rows (bodies already erased) are kept this long, then pruned.
const KEEP_SENT: chrono::Duration = chrono::Duration::days(7);
/// Sender rounds between two prunes (each round is at most [`IDLE_POLL`]; pruning is
/// idempotent, so every node may do it).
const PRUNE_EVERY_ROUNDS: u64 = 720;

pub struct MailQueue {
    store: Store,
    transport: Arc<dyn Mailer>,
    from: Mailbox,
    clock: Clock,
    wake: Notify,
}

impl MailQueue {
    pub fn new(store: Store, transport: Arc<dyn Mailer>, from: Mailbox, clock: Clock) -> Self {
        MailQueue {
            store,
            transport,
            from,
            clock,
            wake: Notify::new(),
        }
    }

    /// Accept `mail`: checked, committed to the queue, the sender woken. Returns once the
    /// row is committed (an error only if the mail is malformed or the store is down),
    /// never waiting on the relay.
    pub async fn send(&self, mail: Mail) -> AppResult<()> {
        // A mail that cannot be built (a malformed address) is refused here, to the
        // caller, rather than retried forever by the sender.
        build_message(&self.from, &mail)?;
        let row = MailRow::new(
            mail.to,
            mail.subject,
            mail.text,
            mail.html,
            self.clock.now(),
        );
        model::enqueue(&self.store, &row).await?;
        self.wake.notify_one();
        Ok(())
    }

    /// The node's sender: deliver what is due, then sleep until woken, until the next
    /// row falls due, or [`IDLE_POLL`], whichever comes first. Runs for the process's life.
    pub async fn run(self: Arc<Self>) {
        let mut rounds: u64 = 0;
        loop {
            let wait = match self.deliver_due().await {
                Ok(()) => self.until_next_due().await,
                Err(e) => {
                    tracing::warn!(error = %e, "mail queue not read; retrying");
                    IDLE_POLL
                }
            };
            rounds += 1;
            if rounds % PRUNE_EVERY_ROUNDS == 0 {
                if let Err(e) = model::prune_sent(&self.store, self.clock.now() - KEEP_SENT).await {
                    tracing::warn!(error = %e, "sent mail not pruned; retrying later");
                }
            }
            // A wake that came while delivering is kept by `Notify` (one permit), so a
            // mail accepted meanwhile is not left waiting for the poll.
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Claim and send due rows until none is left.
    pub async fn deliver_due(&self) -> AppResult<()> {
        loop {
            let lease = chrono::Duration::from_std(LEASE).unwrap_or(chrono::Duration::MAX);
            let rows = model::claim_due(&self.store, self.clock.now(), lease, BATCH).await?;
            let claimed = rows.len();
            futures_util::future::join_all(rows.into_iter().map(|row| self.deliver(row))).await;
            if (claimed as i64) < BATCH {
                return Ok(());
            }
        }
    }

    /// One attempt at one claimed row.
    async fn deliver(&self, row: MailRow) {
        let mail = Mail {
            to: row.recipient.clone(),
            subject: row.subject.clone(),
            text: row.body_text.clone(),
            html: row.body_html.clone(),
        };
        let outcome = match tokio::time::timeout(SEND_TIMEOUT, self.transport.send(mail)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e.0),
            Err(_) => Err(format!("no answer within {} s", SEND_TIMEOUT.as_secs())),
        };
        match outcome {
            Ok(()) => {
                if let Err(e) = model::mark_sent(&self.store, row.id, self.clock.now()).await {
                    // The relay has it; the row will be sent again when the lease lapses.
                    tracing::warn!(mail = %row.id, error = %e,
                        "mail sent but not marked sent; it will be sent again");
                } else {
                    tracing::info!(mail = %row.id, attempts = row.attempts, "mail sent");
                }
            }
            Err(error) => {
                let wait = backoff(row.attempts);
                let retry_at = self.clock.now()
                    + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
                tracing::warn!(mail = %row.id, attempts = row.attempts, %error,
                    retry_in_s = wait.as_secs_f64(), "mail not sent; kept for a retry");
                if let Err(e) = model::mark_failed(&self.store, row.id, retry_at, &error).await {
                    // The claim stays until its lease lapses; then the row is retried.
                    tracing::warn!(mail = %row.id, error = %e, "failed mail not released");
                }
            }
        }
    }

    /// How long to sleep before looking again.
    async fn until_next_due(&self) -> Duration {
        let now = self.clock.now();
        match model::next_due(&self.store, now).await {
            Ok(Some(at)) => (at - now)
                .to_std()
                .unwrap_or(Duration::ZERO)
                .clamp(MIN_WAIT, IDLE_POLL),
            Ok(None) => IDLE_POLL,
            Err(e) => {
                tracing::warn!(error = %e, "mail queue not read; retrying");
                IDLE_POLL
            }
        }
    }

    /// Mails accepted and not yet sent, for `/metrics`.
    pub async fn depth(&self) -> AppResult<i64> {
        model::count_unsent(&self.store).await
    }
}

/// The wait after the `attempts`-th failed attempt: [`FIRST_RETRY`] doubled each time,
/// at most [`MAX_RETRY`].
pub fn backoff(attempts: i64) -> Duration {
    let doublings = attempts.saturating_sub(1).clamp(0, 31) as u32;
    FIRST_RETRY
        .saturating_mul(2u32.saturating_pow(doublings))
        .min(MAX_RETRY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_one_second_and_stops_at_five_minutes() {
        let waits: Vec<u64> = (1..=11).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        assert_eq!(backoff(0), FIRST_RETRY);
        assert_eq!(backoff(i64::MAX), MAX_RETRY);
    }
}
