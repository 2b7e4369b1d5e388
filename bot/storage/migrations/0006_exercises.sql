-- Guided exercises, the private journal and the trust ladder (issue 6).
-- Member-written text (answers, journal bodies, ladder steps) is stored only encrypted.

-- Where a member, or a group in a channel, is in a step exercise, so it survives a restart.
CREATE TABLE exercise_sessions (
    id          INTEGER PRIMARY KEY,
    guild_id    INTEGER NOT NULL,
    user_id     INTEGER,                        -- NULL for a group session
    exercise_id TEXT    NOT NULL,
    mode        TEXT    NOT NULL CHECK (mode IN ('private', 'group')),
    step        INTEGER NOT NULL DEFAULT 0 CHECK (step >= 0),
    status      TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'finished', 'stopped')),
    answers     TEXT,                           -- encrypted JSON: thought-record answers so far
    channel_id  INTEGER,                        -- group sessions: where the public message is
    message_id  INTEGER,
    started_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL,
    CHECK ((mode = 'private') = (user_id IS NOT NULL))
);
CREATE INDEX exercise_sessions_member ON exercise_sessions (user_id, status);
CREATE INDEX exercise_sessions_updated ON exercise_sessions (updated_at);
CREATE INDEX exercise_sessions_guild ON exercise_sessions (guild_id);

CREATE TABLE journal_entries (
    id         INTEGER PRIMARY KEY,
    guild_id   INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    kind       TEXT    NOT NULL CHECK (kind IN ('entry', 'thought_record')),
    prompt_id  TEXT,                            -- the shipped prompt it answers, if any
    body       TEXT    NOT NULL,                -- encrypted (journal_entries.body)
    created_at TEXT    NOT NULL
);
CREATE INDEX journal_entries_member ON journal_entries (guild_id, user_id, id);
CREATE INDEX journal_entries_user ON journal_entries (user_id);

CREATE TABLE ladder_steps (
    id         INTEGER PRIMARY KEY,
    guild_id   INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    title      TEXT    NOT NULL,                -- encrypted (ladder_steps.title)
    difficulty INTEGER NOT NULL CHECK (difficulty BETWEEN 0 AND 100),
    created_at TEXT    NOT NULL
);
CREATE INDEX ladder_steps_member ON ladder_steps (guild_id, user_id);
CREATE INDEX ladder_steps_user ON ladder_steps (user_id);

CREATE TABLE ladder_logs (
    id                 INTEGER PRIMARY KEY,
    step_id            INTEGER NOT NULL REFERENCES ladder_steps (id) ON DELETE CASCADE,
    guild_id           INTEGER NOT NULL,
    user_id            INTEGER NOT NULL,
    discomfort_before  INTEGER NOT NULL CHECK (discomfort_before BETWEEN 0 AND 100),
    discomfort_after   INTEGER NOT NULL CHECK (discomfort_after BETWEEN 0 AND 100),
    logged_at          TEXT    NOT NULL
);
CREATE INDEX ladder_logs_step ON ladder_logs (step_id, id);
CREATE INDEX ladder_logs_user ON ladder_logs (user_id);
CREATE INDEX ladder_logs_guild ON ladder_logs (guild_id);
