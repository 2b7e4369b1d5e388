"""The rules: Discord-free use cases that take ids, text and `now` and return plain values."""
