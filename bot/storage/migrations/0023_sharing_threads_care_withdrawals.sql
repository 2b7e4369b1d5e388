-- Sharing, second round.

-- The naming round (`sharing_settings.name_epoch`) a share's thread uses, fixed when the share
-- is written: /sharemod rotate-names changes names in threads started afterwards only, so
-- everyone keeps one name within a thread. Shares written before this keep the round in force
-- now (their threads' names from here on are the ones replies have had since the last rotation).
ALTER TABLE sharing_posts ADD COLUMN name_epoch INTEGER NOT NULL DEFAULT 0;
UPDATE sharing_posts
SET name_epoch = COALESCE(
    (SELECT s.name_epoch FROM sharing_settings s WHERE s.guild_id = sharing_posts.guild_id), 0
);

-- For a post waiting out the random delay whose words suggest its author may need care: the
-- level to alert moderators about once it is posted (alerting at once would show them when it
-- was written). Cleared when it is posted.
ALTER TABLE sharing_posts ADD COLUMN care_level TEXT;

-- Review items whose author erased their data before a decision: the review message (which
-- shows the text and live buttons) is edited to "withdrawn" by the sharing cog, then the row
-- goes. Only message ids: nothing here says whose it was.
CREATE TABLE sharing_withdrawals (
    id         INTEGER PRIMARY KEY,
    guild_id   INTEGER NOT NULL,
    channel_id INTEGER NOT NULL,
    message_id INTEGER NOT NULL
);
