-- Per-guild settings that moderators set with /setup.
CREATE TABLE guild_settings (
    guild_id           INTEGER PRIMARY KEY,
    moderator_role_id  INTEGER,
    checkin_channel_id INTEGER,
    sharing_channel_id INTEGER,
    review_channel_id  INTEGER,
    alerts_channel_id  INTEGER,
    resources_region   TEXT    NOT NULL DEFAULT 'INTL',
    vetting            INTEGER NOT NULL DEFAULT 0 CHECK (vetting IN (0, 1)),
    updated_at         TEXT    NOT NULL
);

-- Small facts about the running bot, such as the hash of the last synced command set.
CREATE TABLE app_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
