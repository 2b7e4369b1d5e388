"""One module per area, each registering a loader with `bot.content.content_loader`."""
