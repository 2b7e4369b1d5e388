-- Anonymous check-in notes, rebuilt so that nothing in the database links a note to its author,
-- or one author's notes to each other, without the secret key:
-- * `author_key` is a keyed hash of the author's ban key *and this check-in*, so the same member
--   has a different key on every check-in (it finds their note again, and keeps one per member);
-- * `author` is the author's ban key sealed with the key ring (a fresh nonce each time, so equal
--   keys never look equal): only Hearth can open it, to erase or block;
-- * the thread message's id is sealed too (a Discord id carries the time it was posted), and the
--   day it was written is the only time kept, so no timestamp lines up with a member's answer.
-- The old table is renamed and emptied into the new one at start (its rows need the key), then dropped.
ALTER TABLE checkin_anonymous_notes RENAME TO checkin_anonymous_notes_legacy;
DROP INDEX checkin_anonymous_notes_ban_key;

CREATE TABLE checkin_anonymous_notes (
    id            INTEGER PRIMARY KEY,
    guild_id      INTEGER NOT NULL,
    occurrence_id INTEGER NOT NULL REFERENCES checkin_occurrences (id) ON DELETE CASCADE,
    author_key    TEXT    NOT NULL,  -- keyed hash of (guild, check-in, ban key)
    author        TEXT    NOT NULL,  -- the ban key, sealed (context checkin_anonymous_notes.author)
    note          TEXT    NOT NULL,  -- sealed (context checkin_anonymous_notes.note)
    message       TEXT,              -- the thread message id, sealed (checkin_anonymous_notes.message)
    written_on    TEXT    NOT NULL,  -- midnight UTC of the day it was written; no time of day
    UNIQUE (occurrence_id, author_key)
);
CREATE INDEX checkin_anonymous_notes_guild ON checkin_anonymous_notes (guild_id, occurrence_id);

-- A reported thread message is found through its thread.
CREATE INDEX checkin_occurrences_thread ON checkin_occurrences (thread_id) WHERE thread_id IS NOT NULL;
