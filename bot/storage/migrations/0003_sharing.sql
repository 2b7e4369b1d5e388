-- Anonymous sharing. No table here holds a member's user id in plain text: authorship
-- is the ban key (a one-way keyed hash per guild), and member-written text is stored
-- only encrypted, and only until it is posted or rejected.

-- Per-guild sharing settings that moderators change with /sharemod settings.
CREATE TABLE sharing_settings (
    guild_id      INTEGER PRIMARY KEY,
    blocked_terms TEXT    NOT NULL DEFAULT '[]',
    link_policy   TEXT    NOT NULL DEFAULT 'strip_invites'
                  CHECK (link_policy IN ('allow', 'strip_invites', 'strip_all', 'refuse')),
    delay_seconds INTEGER NOT NULL DEFAULT 0 CHECK (delay_seconds >= 0),
    -- Bumped by /sharemod rotate-names; part of every pseudonym's scope from then on.
    name_epoch    INTEGER NOT NULL DEFAULT 0,
    updated_at    TEXT    NOT NULL
);

-- Shares and replies. `share_id` is the parent share of a reply.
CREATE TABLE sharing_posts (
    id                INTEGER PRIMARY KEY,
    guild_id          INTEGER NOT NULL,
    kind              TEXT    NOT NULL CHECK (kind IN ('share', 'reply')),
    share_id          INTEGER REFERENCES sharing_posts (id) ON DELETE SET NULL,
    ban_key           TEXT    NOT NULL,
    pseudonym         TEXT    NOT NULL,
    is_op             INTEGER NOT NULL DEFAULT 0 CHECK (is_op IN (0, 1)),
    source            TEXT    NOT NULL DEFAULT 'share',
    status            TEXT    NOT NULL
                      CHECK (status IN ('pending', 'queued', 'posting', 'posted', 'rejected')),
    held_for_care     INTEGER NOT NULL DEFAULT 0 CHECK (held_for_care IN (0, 1)),
    flags             TEXT    NOT NULL DEFAULT '[]',
    -- Encrypted member text; NULL once the post is posted or rejected.
    title_enc         TEXT,
    warning_enc       TEXT,
    body_enc          TEXT,
    -- The author's user id, encrypted, only while a decision is pending and only if they
    -- asked for a DM about it. Cleared when the DM is sent or the item is decided.
    notify_enc        TEXT,
    reject_reason     TEXT,
    channel_id        INTEGER,
    message_id        INTEGER,
    thread_id         INTEGER,
    review_channel_id INTEGER,
    review_message_id INTEGER,
    created_at        TEXT    NOT NULL,
    post_at           TEXT,
    decided_at        TEXT,
    posted_at         TEXT,
    attempts          INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sharing_posts_author ON sharing_posts (guild_id, ban_key);
CREATE INDEX sharing_posts_message ON sharing_posts (message_id);
CREATE INDEX sharing_posts_review ON sharing_posts (review_message_id);
CREATE INDEX sharing_posts_due ON sharing_posts (status, post_at);
CREATE INDEX sharing_posts_share ON sharing_posts (share_id);

-- Recent submissions, for the rate limits and repeated-text checks; kept for a day at most.
CREATE TABLE sharing_events (
    id         INTEGER PRIMARY KEY,
    guild_id   INTEGER NOT NULL,
    ban_key    TEXT    NOT NULL,
    kind       TEXT    NOT NULL CHECK (kind IN ('share', 'reply', 'report')),
    text_hash  TEXT,
    created_at TEXT    NOT NULL
);
CREATE INDEX sharing_events_author ON sharing_events (guild_id, ban_key, kind, created_at);

-- Blocks on a ban key: they never name anyone and survive any change of pseudonyms.
CREATE TABLE sharing_blocks (
    id         INTEGER PRIMARY KEY,
    guild_id   INTEGER NOT NULL,
    ban_key    TEXT    NOT NULL,
    reason     TEXT    NOT NULL DEFAULT '',
    created_by INTEGER,
    created_at TEXT    NOT NULL,
    expires_at TEXT
);
CREATE INDEX sharing_blocks_key ON sharing_blocks (guild_id, ban_key);

-- What moderators did. The moderator's id is kept; the author's identity never is.
-- A NULL moderator_id on a delete means the author removed their own post.
CREATE TABLE sharing_audit (
    id           INTEGER PRIMARY KEY,
    guild_id     INTEGER NOT NULL,
    moderator_id INTEGER,
    action       TEXT    NOT NULL
                 CHECK (action IN ('approve', 'reject', 'block', 'unblock', 'delete', 'rotate-names',
                                   'settings')),
    post_id      INTEGER,
    block_id     INTEGER,
    detail       TEXT    NOT NULL DEFAULT '',
    created_at   TEXT    NOT NULL
);
CREATE INDEX sharing_audit_guild ON sharing_audit (guild_id, created_at);
CREATE INDEX sharing_audit_moderator ON sharing_audit (moderator_id);

-- A member's sharing preferences, found by ban key.
CREATE TABLE sharing_prefs (
    guild_id     INTEGER NOT NULL,
    ban_key      TEXT    NOT NULL,
    dm_decisions INTEGER NOT NULL DEFAULT 0 CHECK (dm_decisions IN (0, 1)),
    PRIMARY KEY (guild_id, ban_key)
);
