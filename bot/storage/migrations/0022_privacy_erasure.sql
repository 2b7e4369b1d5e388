-- /mydata erase: confirmations that survive a restart, and posts waiting to be deleted one by one.
-- (Numbered 0022, not 0012: a database already at 0013 would never apply a 0012.)

-- An erase confirmation the member was shown. The nonce is in the buttons' custom ids; the
-- subject is a keyed one-way hash of the member's id (never the id), so a confirmation works
-- only for the member who asked. A row is deleted when used, cancelled, or expired.
CREATE TABLE erase_confirmations (
    nonce        TEXT PRIMARY KEY,
    subject_hash TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);

-- Messages to delete from Discord after an erasure, each at its own random moment so that
-- posts under different pseudonyms do not vanish together. No member id, no pseudonym, no text.
CREATE TABLE pending_deletions (
    id         INTEGER PRIMARY KEY,
    channel_id INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    due_at     TEXT    NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    UNIQUE (channel_id, message_id)
);
CREATE INDEX pending_deletions_due ON pending_deletions (due_at);
