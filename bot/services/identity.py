"""Pseudonyms and ban keys: keyed hashes that stand in for a member without revealing them.

A pseudonym is per scope (one share's thread, one check-in's thread), so the same
member's posts in two threads cannot be linked. A ban key is per guild and is
stored instead of a user id, so blocks work without anyone learning who wrote what.
Both are HMAC-SHA256 under the identity key and cannot be reversed without it.
"""

from __future__ import annotations

from bot.storage.crypto import Keyring

ADJECTIVES = (
    "Quiet", "Gentle", "Steady", "Brave", "Calm", "Patient", "Kind", "Warm", "Bright", "Soft",
    "Hopeful", "Curious", "Honest", "Tender", "Still", "Willing", "Open", "Careful", "Hardy", "Earnest",
    "Mellow", "Serene", "Sincere", "Thoughtful", "Resolute", "Humble", "Hearty", "Lively", "Golden", "Silver",
    "Amber", "Misty", "Sunny", "Rainy", "Snowy", "Mossy", "Woodland", "Meadow", "River", "Coastal",
    "Northern", "Southern", "Eastern", "Western", "Morning",
    "Evening", "Twilight", "Starlit", "Moonlit", "Dawn",
    "Velvet", "Cedar", "Maple", "Willow", "Juniper", "Clover", "Fern", "Sage", "Harbor", "Ember",
)

ANIMALS = (
    "Heron", "Otter", "Fox", "Wren", "Badger", "Hare", "Owl", "Finch", "Deer", "Robin",
    "Sparrow", "Swan", "Turtle", "Seal", "Lynx", "Marten", "Falcon", "Crane", "Dove", "Lark",
    "Moth", "Bee", "Beaver", "Hedgehog", "Kestrel", "Magpie", "Puffin", "Raven", "Salmon", "Starling",
    "Stoat", "Swift", "Thrush", "Vole", "Whale", "Wolf", "Bear", "Bison", "Elk", "Ibis",
    "Koala", "Lemur", "Llama", "Manatee", "Newt", "Orca", "Panda", "Pelican", "Plover", "Quail",
    "Rabbit", "Sandpiper", "Squirrel", "Tern", "Toad", "Walrus", "Yak", "Zebra", "Gecko", "Mole",
)


def pseudonym_for(keyring: Keyring, guild_id: int, scope: str, user_id: int) -> str:
    """Return the display name a member has within one scope, such as `share:42`."""
    digest = bytes.fromhex(keyring.keyed_hash("pseudonym", guild_id, scope, user_id))
    adjective = ADJECTIVES[int.from_bytes(digest[0:4], "big") % len(ADJECTIVES)]
    animal = ANIMALS[int.from_bytes(digest[4:8], "big") % len(ANIMALS)]
    number = 1000 + int.from_bytes(digest[8:12], "big") % 9000
    return f"{adjective} {animal} {number}"


def ban_key_for(keyring: Keyring, guild_id: int, user_id: int) -> str:
    """Return the stable, one-way key that stands for a member's authorship in one guild."""
    return keyring.keyed_hash("ban-key", guild_id, user_id)
