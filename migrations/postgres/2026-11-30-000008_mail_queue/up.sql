-- Outgoing mail, committed before anyone is told "a mail is on its way" and delivered by
-- each node's sender (src/mail/queue.rs) with retries, so a relay that is down delays mail
-- but loses none. A row is claimed by a conditional update that sets `claimed_until` (a
-- lease), so two nodes never send the same row at once; a node that dies mid-send leaves
-- a lease that lapses and the row is sent again (at-least-once).
CREATE TABLE mail_queue (
    id TEXT PRIMARY KEY,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT,
    created_at TIMESTAMP NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at TIMESTAMP NOT NULL,
    claimed_until TIMESTAMP,
    sent_at TIMESTAMP,
    last_error TEXT
);
-- What the senders look for: unsent rows by due time.
CREATE INDEX mail_queue_due ON mail_queue (next_attempt_at) WHERE sent_at IS NULL;
-- Pruning sent rows, and deleting an account's mail.
CREATE INDEX mail_queue_sent ON mail_queue (sent_at) WHERE sent_at IS NOT NULL;
CREATE INDEX mail_queue_recipient ON mail_queue (recipient);
