"""Command line: `python -m bot [run|check-config|migrate|backup ...]` (also installed as `hearth`)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bot import __version__
from bot.config import BotSettings, ConfigError, Settings, discord_token, load_settings
from bot.content import check_content
from bot.logs import configure_logging

if TYPE_CHECKING:
    from bot.content import Content
    from bot.storage.crypto import Keyring

log = logging.getLogger("bot")

TOKEN_HELP = (
    "hearth: no bot token. Set DISCORD_TOKEN to your bot's token from the Discord developer portal, "
    "for example: export DISCORD_TOKEN=...  (see README.md)"
)
REJECTED_TOKEN = (
    "hearth: Discord rejected the token in DISCORD_TOKEN (401). Copy it again from the developer portal "
    "(Bot > Reset Token) and set DISCORD_TOKEN to the new value."
)


DEFAULT_CONFIG = "config.toml"


def _config_path(args: argparse.Namespace) -> Path:
    """The config file to read: one named with --config must exist; the default may be absent."""
    if args.config is None:
        return Path(DEFAULT_CONFIG)
    path = Path(args.config)
    if not path.is_file():
        print(f"hearth: there is no config file at {path} (leave out --config to use every default)",
              file=sys.stderr)
        raise SystemExit(1)
    return path


def _load_settings_or_exit(args: argparse.Namespace) -> Settings:
    try:
        return load_settings(_config_path(args))
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        raise SystemExit(1) from None


# ----- run ------------------------------------------------------------------


async def _run(settings: Settings, token: str) -> int:
    from bot.content import ContentError, load_content
    from bot.storage.crypto import ENV_VAR, KeyMismatchError, SecretKeyError, key_file_path, load_keyring
    from bot.storage.db import DatabaseInUseError, run_lock

    try:
        content = load_content(settings.content_path)
    except ContentError as exc:
        print(f"hearth: the content has problems (run `python -m bot check-config`):\n{exc}", file=sys.stderr)
        return 1
    key_file = key_file_path(settings.database_path)
    new_key_file = not os.environ.get(ENV_VAR, "").strip() and not key_file.exists()
    try:
        keyring = load_keyring(settings.database_path)
    except (SecretKeyError, OSError) as exc:
        print(f"hearth: cannot load the secret key: {exc} (see HEARTH_SECRET_KEY in README.md)",
              file=sys.stderr)
        return 2
    try:
        with run_lock(settings.database_path):
            return await _run_bot(settings, token, keyring, content)
    except DatabaseInUseError:
        print(f"hearth: another Hearth is already running on {settings.database_path}; stop it first "
              "(two on one database would post every check-in twice).", file=sys.stderr)
        return 2
    except KeyMismatchError:
        if new_key_file:
            # The new key protects nothing yet; leaving it would hide that the real one is missing.
            key_file.unlink(missing_ok=True)
            print(f"hearth: {key_file} is missing, and the database beside it was sealed with that key. "
                  f"Restore the key file from the backup made with the database, or set {ENV_VAR}.",
                  file=sys.stderr)
        else:
            print(f"hearth: the secret key ({ENV_VAR} or {key_file}) is not the one this database was "
                  "sealed with. Use the key that was backed up with the database.", file=sys.stderr)
        return 2


async def _run_bot(settings: Settings, token: str, keyring: Keyring, content: Content) -> int:
    """Run the bot until it is stopped; a key the database refuses raises KeyMismatchError."""
    import aiohttp
    import discord

    from bot.app import create_bot

    bot = create_bot(settings, keyring=keyring, content=content)
    loop = asyncio.get_running_loop()
    stopping: list[asyncio.Task[None]] = []

    def request_stop(signame: str) -> None:
        if not stopping:
            log.info("received %s; shutting down", signame)
            stopping.append(loop.create_task(bot.close()))

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, request_stop, sig.name)
    try:
        await bot.start(token)
    except discord.LoginFailure:
        print(REJECTED_TOKEN, file=sys.stderr)
        return 2
    except (aiohttp.ClientConnectionError, TimeoutError) as exc:
        log.debug("could not reach Discord", exc_info=exc)
        print(
            f"hearth: cannot reach Discord at {settings.discord.api_base_url} ({exc.__class__.__name__}). "
            "Check the network and [discord] api_base_url.",
            file=sys.stderr,
        )
        return 2
    finally:
        if stopping:
            await stopping[0]
        elif not bot.is_closed():
            await bot.close()
        elif bot.db is not None:
            await bot.db.close()
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Run the bot until SIGTERM or SIGINT."""
    token = discord_token()
    if token is None:
        print(TOKEN_HELP, file=sys.stderr)
        return 2
    settings = _load_settings_or_exit(args)
    configure_logging(settings.bot.log_level)
    return asyncio.run(_run(settings, token))


# ----- check-config -----------------------------------------------------------


def _content_settings_despite(path: Path, error: ConfigError) -> Settings:
    """Keep a valid `[bot] content_dir` when other keys are wrong, so the right content is checked."""
    try:
        content_dir = tomllib.loads(path.read_text(encoding="utf-8")).get("bot", {}).get("content_dir")
    except (OSError, tomllib.TOMLDecodeError, AttributeError):
        content_dir = None
    if isinstance(content_dir, str) and "bot.content_dir" not in dict(error.problems):
        return Settings(bot=BotSettings(content_dir=content_dir), path=str(path))
    return Settings(path=str(path))


def cmd_check_config(args: argparse.Namespace) -> int:
    """Validate config.toml and every content file, printing each problem."""
    problems: list[str] = []
    path = _config_path(args)
    try:
        settings = load_settings(path)
    except ConfigError as exc:
        problems.extend(f"{exc.path}: {key}: {message}" for key, message in exc.problems)
        settings = _content_settings_despite(path, exc)
    if not path.exists():
        print(f"note: {path} does not exist; checking the defaults", file=sys.stderr)
    content, content_problems = check_content(settings.content_path)
    problems.extend(str(p) for p in content_problems)
    for line in problems:
        print(line)
    for warning in content.warnings:
        print(f"warning: {warning}")
    if problems:
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return 1
    print(f"{path} and {settings.content_path}/ are valid")
    return 0


# ----- migrate and backup ---------------------------------------------------------


async def _migrate(settings: Settings) -> list[int]:
    from bot.storage.db import Database

    db = await Database.open(settings.database_path)
    try:
        return await db.migrate()
    finally:
        await db.close()


def cmd_migrate(args: argparse.Namespace) -> int:
    """Bring the database to the current schema."""
    settings = _load_settings_or_exit(args)
    configure_logging(settings.bot.log_level)
    applied = asyncio.run(_migrate(settings))
    if applied:
        print(f"applied migrations {', '.join(f'{n:04d}' for n in applied)} to {settings.database_path}")
    else:
        print(f"{settings.database_path} is already at the current schema")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    """Copy a consistent snapshot of the database, safe while the bot runs."""
    import sqlite3

    from bot.storage.crypto import key_file_path
    from bot.storage.db import backup_file

    settings = _load_settings_or_exit(args)
    source = settings.database_path
    if not source.exists():
        print(f"hearth: there is no database at {source} to back up", file=sys.stderr)
        return 1
    destination = Path(args.dest)
    if destination.is_dir():
        print(f"hearth: {destination} is a folder; give a file name, such as {destination / 'hearth.db'}",
              file=sys.stderr)
        return 1
    if destination.resolve() == source.resolve():
        print(f"hearth: {destination} is the live database itself; choose another file", file=sys.stderr)
        return 1
    try:
        backup_file(source, destination)
    except (OSError, sqlite3.Error) as exc:
        print(f"hearth: the backup to {destination} failed: {exc}", file=sys.stderr)
        return 1
    print(f"backed up {source} to {destination}")
    key_file = key_file_path(source)
    if key_file.exists():
        print(f"remember to keep a copy of {key_file} too: without it the encrypted text cannot be read")
    return 0


# ----- safety -------------------------------------------------------------------


async def _guild_assessment(settings: Settings, guild_id: int, text: str) -> object:
    from bot.content import load_content
    from bot.services.safety import build_safety_service
    from bot.storage.db import Database

    content = load_content(settings.content_path)
    db = await Database.open(settings.database_path)
    try:
        await db.migrate()
        return await build_safety_service(content, db).assess(guild_id, text)
    finally:
        await db.close()


def cmd_safety(args: argparse.Namespace) -> int:
    """Classify TEXT as none, concern or crisis and print the matched phrases."""
    import json

    from bot.content import ContentError, load_content
    from bot.services.safety import Assessment, build_safety_service

    settings = _load_settings_or_exit(args)
    if args.guild is not None and not settings.database_path.exists():
        print(f"note: there is no database at {settings.database_path}; using the built-in phrases only, "
              f"without guild {args.guild}'s own", file=sys.stderr)
    try:
        if args.guild is not None and settings.database_path.exists():
            assessment = asyncio.run(_guild_assessment(settings, args.guild, args.text))
        else:
            service = build_safety_service(load_content(settings.content_path), None)
            assessment = service.assess_builtin(args.text)
    except ContentError as exc:
        print(f"hearth: the content has problems (run `python -m bot check-config`):\n{exc}", file=sys.stderr)
        return 1
    assert isinstance(assessment, Assessment)
    if args.json:
        print(json.dumps(assessment.to_json()))
    else:
        print(f"level: {assessment.level.value}")
        print("matched: " + (", ".join(assessment.matched) if assessment.matched else "(nothing)"))
    return 0


# ----- faq -----------------------------------------------------------------------


async def _faq_search(
    settings: Settings, library: object, query: str, guild_id: int | None
) -> list[dict[str, object]]:
    from bot.services.faq import FaqLibrary, FaqService
    from bot.storage.db import Database
    from bot.storage.faq import FaqStore

    assert isinstance(library, FaqLibrary)
    db = None
    if guild_id is not None and settings.database_path.exists():
        db = await Database.open(settings.database_path)
    try:
        if db is not None:
            await db.migrate()
        service = FaqService(library, FaqStore(db, None) if db is not None else None)
        found = await service.search(guild_id if db is not None else None, query, limit=3)
    finally:
        if db is not None:
            await db.close()
    return [
        {"id": m.entry.id, "question": m.entry.question, "score": m.score, "confident": confident}
        for m, confident in found
    ]


def cmd_faq(args: argparse.Namespace) -> int:
    """Print the top three FAQ matches for QUERY, as members of a guild would get them."""
    import json

    from bot.content import ContentError, load_content

    settings = _load_settings_or_exit(args)
    try:
        library = load_content(settings.content_path).parts["faq"]
    except ContentError as exc:
        print(f"hearth: the content has problems (run `python -m bot check-config`):\n{exc}", file=sys.stderr)
        return 1
    if args.guild is not None and not settings.database_path.exists():
        print(f"note: there is no database at {settings.database_path}; showing the built-in entries only",
              file=sys.stderr)
    results = asyncio.run(_faq_search(settings, library, args.query, args.guild))
    if args.json:
        print(json.dumps(results, ensure_ascii=False))
        return 0
    if not results:
        print("no match: members asking this would be pointed to /learn and /resources")
        return 0
    for n, result in enumerate(results, start=1):
        verdict = "confident" if result["confident"] else "not confident"
        print(f"{n}. {result['id']}  (score {result['score']}, {verdict})\n   {result['question']}")
    return 0


# ----- rotate-key ----------------------------------------------------------------


async def _rotate_key(settings: Settings, environ: dict[str, str]) -> int:
    from bot.services.privacy import pending_rotation, reseal_all
    from bot.storage.crypto import (
        ENV_VAR,
        KeyMismatchError,
        Keyring,
        generate_master_key,
        key_file_path,
        load_keyring,
        verify_keyring,
        write_key_file,
    )
    from bot.storage.db import Database

    if not environ.get(ENV_VAR, "").strip() and not key_file_path(settings.database_path).exists():
        print(f"hearth: no key to rotate: set {ENV_VAR} or restore {key_file_path(settings.database_path)}",
              file=sys.stderr)
        return 1
    keyring = load_keyring(settings.database_path, environ)
    db = await Database.open(settings.database_path)
    try:
        try:
            await verify_keyring(db, keyring)
        except KeyMismatchError:
            print(f"hearth: the secret key ({ENV_VAR} or the key file) is not the one this database was "
                  "sealed with, so there is nothing it could re-encrypt", file=sys.stderr)
            return 1
        await db.migrate()
        if not await pending_rotation(db, keyring):
            fresh = Keyring.parse(generate_master_key()).masters[1]
            rotated = Keyring({**keyring.masters, keyring.current_version + 1: fresh})
            if environ.get(ENV_VAR, "").strip():
                print(f"A new key version {rotated.current_version} is ready; nothing is re-encrypted yet.")
                print(f"1. Stop Hearth. 2. Set {ENV_VAR} to this value (it keeps the old versions, which")
                print("   are still needed to read older data and for members' one-way keys):")
                print()
                print(f"   {ENV_VAR}={rotated.serialize().replace(chr(10), ',')}")
                print()
                print("3. Run `python -m bot rotate-key` again to re-encrypt everything. 4. Start Hearth.")
                return 0
            write_key_file(key_file_path(settings.database_path), rotated)
            print(f"wrote key version {rotated.current_version} to {key_file_path(settings.database_path)}")
            keyring = rotated
        report = await reseal_all(db, keyring)
    finally:
        await db.close()
    total = sum(report.resealed.values())
    for column, count in sorted(report.resealed.items()):
        print(f"  {column}: {count} re-encrypted")
    print(f"re-encrypted {total} value(s) under key version {keyring.current_version}")
    if report.unregistered:
        names = ", ".join(f"{t}.{c}" for t, c in report.unregistered)
        print(f"hearth: these columns hold encrypted values but are not registered, so they were NOT "
              f"re-encrypted: {names}. Keep every old key version until they are.", file=sys.stderr)
        return 1
    return 0


def cmd_rotate_key(args: argparse.Namespace) -> int:
    """Add a new key version and re-encrypt every sensitive column under it."""
    settings = _load_settings_or_exit(args)
    configure_logging("WARNING")
    if not settings.database_path.exists():
        print(f"hearth: there is no database at {settings.database_path}", file=sys.stderr)
        return 1
    from bot.storage.db import DatabaseInUseError, run_lock

    try:
        with run_lock(settings.database_path):
            return asyncio.run(_rotate_key(settings, dict(os.environ)))
    except DatabaseInUseError:
        print("hearth: Hearth is running on this database; stop it first, then rotate the key "
              "(a running bot could not read what is re-encrypted under it)", file=sys.stderr)
        return 1


# ----- parser -------------------------------------------------------------------

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    """Build the command-line parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="hearth",
        description="Hearth: a Discord bot for moderated peer-support groups.",
    )
    parser.add_argument("--version", action="version", version=f"hearth {__version__}")
    parser.add_argument("--config", default=None, help=f"path to config.toml (default: {DEFAULT_CONFIG})")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help_text, description=help_text)
        command.add_argument("--config", default=argparse.SUPPRESS, help="path to config.toml")
        command.set_defaults(handler=handler)
        return command

    add("run", cmd_run, "run the bot (the default); the token comes from DISCORD_TOKEN")
    add("check-config", cmd_check_config, "validate config.toml and every file in content/")
    add("migrate", cmd_migrate, "bring the database to the current schema")
    backup = add("backup", cmd_backup, "write an online, consistent copy of the database to DEST")
    backup.add_argument("dest", metavar="DEST", help="where to write the copy")
    safety = add("safety", cmd_safety, "classify TEXT as none, concern or crisis; show the matched phrases")
    safety.add_argument("text", metavar="TEXT", help="the text to classify")
    safety.add_argument("--guild", type=int, default=None, help="also use this guild's own phrases")
    safety.add_argument("--json", action="store_true", help='print {"level": ..., "matched": [...]}')
    faq = add("faq", cmd_faq, "show the top 3 FAQ entries for QUERY, as a member asking it would get them")
    faq.add_argument("query", metavar="QUERY", help="a question, worded as a member might ask it")
    faq.add_argument("--guild", type=int, default=None, help="include this guild's own entries and changes")
    faq.add_argument("--json", action="store_true",
                     help="print a JSON list of {id, question, score, confident}")
    add("rotate-key", cmd_rotate_key, "re-encrypt secret columns under a new key version (stop Hearth first)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the chosen command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = getattr(args, "handler", cmd_run)
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
