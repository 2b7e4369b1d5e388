-- What Hearth needs moderators to hear and could not always say at once: a configured channel it
-- cannot post in, a paused schedule, a care alert the alerts channel did not take. A notice waits
-- here until it reaches a moderator (the alerts channel, the review channel, or /setup).
-- A notice with a `topic` is said once: while it exists, the same trouble is not reported again;
-- it is cleared when the trouble ends (a post there works, or a moderator changes the setting).
CREATE TABLE moderator_notices (
    id           INTEGER PRIMARY KEY,
    guild_id     INTEGER NOT NULL,
    topic        TEXT,                       -- e.g. 'channel:123', 'schedule:4'; NULL for one-off alerts
    channel_id   INTEGER,                    -- the channel the trouble is about, if any
    body         TEXT    NOT NULL,           -- the message for moderators (an embed as JSON), encrypted
    user_id      INTEGER,                    -- the member a care alert names, so /mydata erase removes it
    attempts     INTEGER NOT NULL DEFAULT 0, -- deliveries tried and failed
    created_at   TEXT    NOT NULL,
    delivered_at TEXT
);
CREATE UNIQUE INDEX moderator_notices_topic ON moderator_notices (guild_id, topic) WHERE topic IS NOT NULL;
CREATE INDEX moderator_notices_waiting ON moderator_notices (guild_id, id) WHERE delivered_at IS NULL;
