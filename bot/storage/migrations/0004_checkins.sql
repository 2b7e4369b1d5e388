-- Group check-in schedules. The database is the source of truth; APScheduler only wakes the
-- runner at the earliest `next_run_at` (and the other due times below).
CREATE TABLE checkin_schedules (
    id                INTEGER PRIMARY KEY,
    guild_id          INTEGER NOT NULL,
    channel_id        INTEGER NOT NULL,
    name              TEXT    NOT NULL,
    kind              TEXT    NOT NULL DEFAULT 'checkin' CHECK (kind IN ('checkin', 'exercise')),
    exercise_id       TEXT,
    local_time        TEXT    NOT NULL,              -- HH:MM on the wall clock of `timezone`
    weekdays          TEXT    NOT NULL,              -- digits, Monday = 0: '01234'
    timezone          TEXT    NOT NULL,              -- IANA name
    prompt_set        TEXT,                          -- a set id; NULL means every set
    window_minutes    INTEGER NOT NULL CHECK (window_minutes > 0),
    show_distribution INTEGER NOT NULL DEFAULT 0 CHECK (show_distribution IN (0, 1)),
    paused            INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
    prompt_cycle      INTEGER NOT NULL DEFAULT 0,    -- how many times the set has been used up
    next_run_at       TEXT,                          -- the next occurrence (UTC), kept by the runner
    last_error        TEXT,                          -- why the last post failed, for /schedule list
    created_at        TEXT    NOT NULL,
    updated_at        TEXT    NOT NULL
);
CREATE INDEX checkin_schedules_due ON checkin_schedules (next_run_at) WHERE paused = 0;
CREATE INDEX checkin_schedules_guild ON checkin_schedules (guild_id);

-- Prompts a server's moderators added, and built-in prompts they hid.
CREATE TABLE checkin_prompts (
    id         INTEGER PRIMARY KEY,
    guild_id   INTEGER NOT NULL,
    set_name   TEXT    NOT NULL,
    text       TEXT    NOT NULL,
    created_at TEXT    NOT NULL
);
CREATE INDEX checkin_prompts_guild ON checkin_prompts (guild_id, set_name);

CREATE TABLE checkin_hidden_prompts (
    guild_id   INTEGER NOT NULL,
    prompt_key TEXT    NOT NULL,
    PRIMARY KEY (guild_id, prompt_key)
);

-- One row per posted (or claimed, skipped, failed) check-in. A row is claimed before anything
-- is sent, so the unique index below is what stops an occurrence from ever being posted twice.
CREATE TABLE checkin_occurrences (
    id                INTEGER PRIMARY KEY,
    schedule_id       INTEGER REFERENCES checkin_schedules (id) ON DELETE SET NULL,
    guild_id          INTEGER NOT NULL,
    channel_id        INTEGER NOT NULL,
    kind              TEXT    NOT NULL CHECK (kind IN ('checkin', 'exercise', 'test')),
    exercise_id       TEXT,
    title             TEXT    NOT NULL,
    scheduled_for     TEXT    NOT NULL,
    prompt_key        TEXT,
    prompt_text       TEXT,
    prompt_cycle      INTEGER,
    show_distribution INTEGER NOT NULL DEFAULT 0 CHECK (show_distribution IN (0, 1)),
    state             TEXT    NOT NULL CHECK (state IN ('claimed', 'posted', 'skipped', 'failed', 'unknown')),
    claimed_at        TEXT    NOT NULL,
    posted_at         TEXT,
    message_id        INTEGER,
    thread_id         INTEGER,
    closes_at         TEXT    NOT NULL,
    remind_at         TEXT,
    reminded          INTEGER NOT NULL DEFAULT 0 CHECK (reminded IN (0, 1)),
    closed            INTEGER NOT NULL DEFAULT 0 CHECK (closed IN (0, 1)),
    detail            TEXT
);
CREATE UNIQUE INDEX checkin_occurrences_once
    ON checkin_occurrences (schedule_id, scheduled_for) WHERE kind != 'test';
CREATE INDEX checkin_occurrences_claimed ON checkin_occurrences (claimed_at) WHERE state = 'claimed';
CREATE INDEX checkin_occurrences_open ON checkin_occurrences (closes_at) WHERE state = 'posted' AND closed = 0;
CREATE INDEX checkin_occurrences_guild ON checkin_occurrences (guild_id);
CREATE INDEX checkin_occurrences_rotation ON checkin_occurrences (schedule_id, prompt_cycle);

-- A member's answers: to a group check-in (occurrence_id set) or a personal /checkin (NULL).
-- A mood of NULL with passed = 1 is a pass. Notes are sealed (context checkin_answers.note).
-- Anonymous notes are not here: they live in checkin_anonymous_notes, under a ban key.
CREATE TABLE checkin_answers (
    id              INTEGER PRIMARY KEY,
    user_id         INTEGER NOT NULL,
    guild_id        INTEGER,
    occurrence_id   INTEGER REFERENCES checkin_occurrences (id) ON DELETE CASCADE,
    mood            INTEGER CHECK (mood BETWEEN 1 AND 5),
    passed          INTEGER NOT NULL DEFAULT 0 CHECK (passed IN (0, 1)),
    note            TEXT,
    note_visibility TEXT CHECK (note_visibility IN ('private', 'group')),
    note_message_id INTEGER,
    answered_at     TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL
);
CREATE UNIQUE INDEX checkin_answers_once
    ON checkin_answers (occurrence_id, user_id) WHERE occurrence_id IS NOT NULL;
CREATE INDEX checkin_answers_user ON checkin_answers (user_id, answered_at);
CREATE INDEX checkin_answers_guild ON checkin_answers (guild_id);

-- Notes posted under a per-check-in pseudonym. No user id: the ban key stands for the author.
CREATE TABLE checkin_anonymous_notes (
    id            INTEGER PRIMARY KEY,
    guild_id      INTEGER NOT NULL,
    occurrence_id INTEGER NOT NULL REFERENCES checkin_occurrences (id) ON DELETE CASCADE,
    ban_key       TEXT    NOT NULL,
    note          TEXT    NOT NULL,
    message_id    INTEGER,
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL,
    UNIQUE (occurrence_id, ban_key)
);
CREATE INDEX checkin_anonymous_notes_ban_key ON checkin_anonymous_notes (ban_key);

-- Opt-in DM reminders: one row per member and server (guild_id 0 when turned on in DMs).
CREATE TABLE checkin_reminders (
    user_id       INTEGER NOT NULL,
    guild_id      INTEGER NOT NULL,
    local_time    TEXT    NOT NULL,
    weekdays      TEXT    NOT NULL,
    timezone      TEXT    NOT NULL,
    enabled       INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    next_run_at   TEXT,
    dm_channel_id INTEGER,
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL,
    PRIMARY KEY (user_id, guild_id)
);
CREATE INDEX checkin_reminders_due ON checkin_reminders (next_run_at) WHERE enabled = 1;
CREATE INDEX checkin_reminders_guild ON checkin_reminders (guild_id) WHERE enabled = 1;

-- Small facts about a member: the zone their days are counted in, and a notice waiting for them
-- (their DMs were closed, so reminders were turned off; they are told once, next time they are here).
CREATE TABLE checkin_members (
    user_id           INTEGER PRIMARY KEY,
    timezone          TEXT,
    dm_closed_notice  INTEGER NOT NULL DEFAULT 0 CHECK (dm_closed_notice IN (0, 1)),
    notice_channel_id INTEGER,
    updated_at        TEXT    NOT NULL
);

-- /pause: no reminders, and the streak is frozen, between starts_at and ends_at.
CREATE TABLE checkin_pauses (
    id        INTEGER PRIMARY KEY,
    user_id   INTEGER NOT NULL,
    starts_at TEXT    NOT NULL,
    ends_at   TEXT    NOT NULL
);
CREATE INDEX checkin_pauses_user ON checkin_pauses (user_id, ends_at);
