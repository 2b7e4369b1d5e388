-- Safety: each guild's own crisis phrases and alert choice. Privacy: departures and erasures.

-- Phrases a guild's moderators add with /safety phrases (moderators' words, not members').
CREATE TABLE safety_phrases (
    guild_id   INTEGER NOT NULL,
    phrase     TEXT    NOT NULL,
    level      TEXT    NOT NULL CHECK (level IN ('crisis', 'concern', 'ignore')),
    created_at TEXT    NOT NULL,
    PRIMARY KEY (guild_id, phrase)
);

-- Whether `concern` also alerts this guild's moderators (crisis always does).
CREATE TABLE safety_settings (
    guild_id         INTEGER PRIMARY KEY,
    alert_on_concern INTEGER NOT NULL DEFAULT 0 CHECK (alert_on_concern IN (0, 1)),
    updated_at       TEXT    NOT NULL
);

-- Guilds Hearth was removed from; their data is purged once the grace period has passed.
CREATE TABLE guild_departures (
    guild_id INTEGER PRIMARY KEY,
    left_at  TEXT    NOT NULL
);

-- One row per /mydata erase: a keyed one-way hash of the member's id (never the id), so an
-- erasure can be applied again to a database restored from a backup taken before it.
CREATE TABLE erasure_log (
    subject_hash TEXT PRIMARY KEY,
    erased_at    TEXT NOT NULL
);
