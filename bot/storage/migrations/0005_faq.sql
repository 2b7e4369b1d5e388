-- FAQ entries a guild wrote itself (custom) or rewrote from a built-in (override).
-- Moderator-written content meant to be shown; no member is recorded against it.
CREATE TABLE faq_guild_entries (
    guild_id   INTEGER NOT NULL,
    entry_id   TEXT    NOT NULL,
    kind       TEXT    NOT NULL CHECK (kind IN ('custom', 'override')),
    question   TEXT    NOT NULL,
    answer     TEXT    NOT NULL,
    keywords   TEXT    NOT NULL DEFAULT '[]',  -- JSON list of text
    updated_at TEXT    NOT NULL,
    PRIMARY KEY (guild_id, entry_id)
);

-- Built-in entries a guild chose not to show.
CREATE TABLE faq_hidden (
    guild_id  INTEGER NOT NULL,
    entry_id  TEXT    NOT NULL,
    hidden_at TEXT    NOT NULL,
    PRIMARY KEY (guild_id, entry_id)
);

-- Other ways of asking that moderators taught an entry, usually from the gap queue.
CREATE TABLE faq_aliases (
    guild_id INTEGER NOT NULL,
    entry_id TEXT    NOT NULL,
    alias    TEXT    NOT NULL,
    added_at TEXT    NOT NULL,
    PRIMARY KEY (guild_id, entry_id, alias)
);

-- The gap queue: questions nothing answered. Deliberately no member id, no channel and only
-- the day asked, so a question cannot be tied to whoever asked it. The text is sealed
-- (context "faq_misses.query") and ages out after [retention] faq_misses_days.
CREATE TABLE faq_misses (
    id       INTEGER PRIMARY KEY,
    guild_id INTEGER NOT NULL,
    query    TEXT    NOT NULL,
    asked_on TEXT    NOT NULL
);
CREATE INDEX faq_misses_by_guild ON faq_misses (guild_id, asked_on);
