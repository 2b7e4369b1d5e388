"""All SQL lives here: one aiosqlite connection, numbered migrations, and queries per area."""
