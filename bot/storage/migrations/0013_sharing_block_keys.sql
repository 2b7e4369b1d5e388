-- Blocks are kept under a block key, a one-way HMAC of the ban key (`block_key_for` in
-- bot/storage/sharing.py), so that after /mydata erase no table holds the member's ban key while
-- the moderator's block still stands. Turning an old row's ban key into its block key needs the
-- secret key, which SQL does not have: the old rows wait in sharing_blocks_legacy until Hearth
-- moves them at start (SharingStore.adopt_legacy_blocks) and drops that table.
ALTER TABLE sharing_blocks RENAME TO sharing_blocks_legacy;
DROP INDEX sharing_blocks_key;

CREATE TABLE sharing_blocks (
    id         INTEGER PRIMARY KEY,
    guild_id   INTEGER NOT NULL,
    block_key  TEXT    NOT NULL,
    reason     TEXT    NOT NULL DEFAULT '',
    created_by INTEGER,
    created_at TEXT    NOT NULL,
    expires_at TEXT
);
CREATE INDEX sharing_blocks_key ON sharing_blocks (guild_id, block_key);
