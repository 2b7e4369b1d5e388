"""Anonymous sharing against a real SQLite file: the rules, the queue, and what the tables hold."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import SharingSettings
from bot.errors import UserFacingError
from bot.services.identity import ban_key_for
from bot.services.sharing import FLAG_CRISIS, FLAG_SAFETY_DOWN, Outcome, SharingService
from bot.storage.crypto import DecryptionError, Keyring, generate_master_key
from bot.storage.db import Database
from bot.storage.personal import REGISTRY, MemberRef
from bot.storage.privacy import RETENTION_RULES, purge_older_than
from bot.storage.sharing import BODY_CONTEXT, SharingStore
from tests.storage.migration_helpers import older_database

GUILD = 5550001
AUTHOR = 771234567890123456
OTHER = 771234567890123457
MODERATOR = 661234567890123458
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
TEXT = "Today I finally told a friend what happened, and they believed me."


@dataclass(frozen=True)
class FakeAssessment:
    level: str = "none"

    @property
    def needs_care(self) -> bool:
        return self.level != "none"


CALM = FakeAssessment("none")
CRISIS = FakeAssessment("crisis")


def make_service(db: Database, keyring: Keyring, **settings: int) -> SharingService:
    return SharingService(SharingStore(db), keyring, SharingSettings(**settings), rng=random.Random(7))


@pytest.fixture
def service(db: Database, keyring: Keyring) -> SharingService:
    return make_service(db, keyring, max_delay_seconds=60)


async def share(
    service: SharingService,
    user: int = AUTHOR,
    text: str = TEXT,
    *,
    vetting: bool = False,
    assessment: FakeAssessment | None = CALM,
    at: datetime = NOW,
    **kwargs: str,
):
    return await service.submit_share(
        GUILD, user, at, text=text, vetting=vetting, assessment=assessment, **kwargs
    )


async def post_it(service: SharingService, post_id: int, message_id: int, at: datetime = NOW) -> None:
    claimed = await service.claim(post_id)
    assert claimed is not None
    await service.posted(post_id, at, channel_id=1, message_id=message_id, thread_id=message_id + 1)


async def all_sharing_values(db: Database) -> list[str]:
    tables = [
        r[0]
        for r in await db.fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'sharing_%'"
        )
    ]
    values: list[str] = []
    for table in tables:
        for row in await db.fetchall(f"SELECT * FROM {table}"):
            values.extend(str(v) for v in tuple(row))
    return values


async def test_a_share_is_queued_with_its_text_sealed_then_forgotten_once_posted(
    service: SharingService, db: Database
) -> None:
    result = await share(service, title="A small step")
    assert result.outcome is Outcome.QUEUED and result.post is not None
    raw = await db.fetchone("SELECT body_enc, title_enc FROM sharing_posts WHERE id = ?", (result.post.id,))
    assert TEXT not in raw["body_enc"] and "A small step" not in raw["title_enc"]
    opened = await service.claim(result.post.id)
    assert opened is not None and opened.text == TEXT and opened.title == "A small step"
    assert await service.claim(result.post.id) is None, "a post can be claimed only once"
    await service.posted(result.post.id, NOW, channel_id=1, message_id=10, thread_id=11)
    row = await db.fetchone("SELECT * FROM sharing_posts WHERE id = ?", (result.post.id,))
    assert row["status"] == "posted"
    assert row["body_enc"] is None and row["title_enc"] is None and row["warning_enc"] is None


async def test_a_pending_share_cannot_be_read_without_the_key(
    service: SharingService, db: Database, keyring: Keyring
) -> None:
    result = await share(service, vetting=True)
    assert result.outcome is Outcome.HELD
    token = await db.fetchval("SELECT body_enc FROM sharing_posts WHERE id = ?", (result.post.id,))
    assert TEXT not in token and "friend" not in token
    assert keyring.decrypt(token, context=BODY_CONTEXT) == TEXT
    with pytest.raises(DecryptionError):
        Keyring.parse(generate_master_key()).decrypt(token, context=BODY_CONTEXT)
    with pytest.raises(DecryptionError):
        keyring.decrypt(token, context="some.other_column")


async def test_no_sharing_table_holds_an_authors_user_id(service: SharingService, db: Database) -> None:
    await service.set_dm_decisions(GUILD, AUTHOR, True)
    first = await share(service, vetting=True)
    second = await share(service, text=TEXT + " Again, differently.", vetting=False)
    await post_it(service, second.post.id, 20)
    await service.submit_reply(GUILD, OTHER, second.post.id, NOW, text="I'm glad you did.", assessment=CALM)
    await service.submit_reply(GUILD, AUTHOR, second.post.id, NOW, text="Thank you all.", assessment=CALM)
    await service.request_decision_dm(GUILD, AUTHOR, first.post.id)
    await service.check_report(GUILD, OTHER, NOW)
    await service.block_author(GUILD, second.post.id, MODERATOR, NOW, days=7, reason="testing")
    values = await all_sharing_values(db)
    assert values, "the test wrote nothing"
    for user in (AUTHOR, OTHER):
        assert not [v for v in values if str(user) in v]
    assert any(str(MODERATOR) == v for v in values), "the moderator's own id is kept for the audit log"


async def test_post_ids_are_random_so_they_do_not_tell_which_came_first(
    db: Database, keyring: Keyring
) -> None:
    service = make_service(db, keyring, shares_per_hour=100)
    ids = []
    for n in range(30):
        result = await share(service, text=f"{TEXT} Number {n} of many.", at=NOW + timedelta(seconds=n))
        assert result.post is not None
        ids.append(result.post.id)
    assert all(1_000_000 <= i < 10_000_000 for i in ids)
    assert ids != sorted(ids) and ids != sorted(ids, reverse=True)
    mine = (await service.mine_page(GUILD, AUTHOR, 0, 50)).items
    assert [p.id for p in mine] == ids[::-1], "a member's own list is still newest first"


async def test_the_rate_limit_is_three_an_hour_and_says_when_to_come_back(service: SharingService) -> None:
    for n in range(3):
        result = await share(service, text=f"{TEXT} ({n})", at=NOW + timedelta(minutes=n))
        assert result.outcome is Outcome.QUEUED
    refused = await share(service, text=f"{TEXT} (4)", at=NOW + timedelta(minutes=10))
    assert refused.outcome is Outcome.REFUSED
    assert "limit of 3 shares an hour" in refused.reason and "about 50 minutes" in refused.reason
    later = await share(service, text=f"{TEXT} (5)", at=NOW + timedelta(minutes=61))
    assert later.outcome is Outcome.QUEUED


async def test_the_rate_limit_holds_when_many_shares_arrive_at_once(db: Database, keyring: Keyring) -> None:
    service = make_service(db, keyring, shares_per_hour=2)
    results = await asyncio.gather(*(share(service, text=f"{TEXT} number {n}") for n in range(8)))
    assert sorted(r.outcome for r in results).count(Outcome.QUEUED) == 2
    assert await db.fetchval("SELECT COUNT(*) FROM sharing_posts") == 2


async def test_other_members_have_their_own_limit(service: SharingService) -> None:
    for n in range(3):
        await share(service, text=f"{TEXT} ({n})")
    assert (await share(service, user=OTHER)).outcome is Outcome.QUEUED


async def test_the_same_text_twice_is_refused_as_repeated(service: SharingService) -> None:
    assert (await share(service)).outcome is Outcome.QUEUED
    again = await share(service, text=TEXT.upper() + "!!", at=NOW + timedelta(minutes=5))
    assert again.outcome is Outcome.REFUSED and "same text" in again.reason


async def test_short_and_repetitive_shares_are_refused_with_the_reason(service: SharingService) -> None:
    short = await share(service, text="hi there")
    assert short.outcome is Outcome.REFUSED and "at least 20 characters" in short.reason
    spam = await share(service, text="follow me " * 20)
    assert spam.outcome is Outcome.REFUSED and "repeated" in spam.reason


async def test_a_blocked_term_is_refused_without_vetting_and_flagged_with_it(
    service: SharingService, db: Database
) -> None:
    await service.change_settings(GUILD, MODERATOR, NOW, add_terms="forbidden thing, other")
    text = "I keep thinking about the Forbidden Thing that happened last year."
    refused = await share(service, text=text)
    assert refused.outcome is Outcome.REFUSED and "“forbidden thing”" in refused.reason
    held = await share(service, text=text, vetting=True)
    assert held.outcome is Outcome.HELD
    assert held.post.flags == ("blocked term: forbidden thing",)


async def test_invite_links_are_stripped_and_the_member_told(service: SharingService) -> None:
    result = await share(service, text=TEXT + " Come to discord.gg/secretserver")
    assert result.outcome is Outcome.QUEUED
    assert result.notes == ("I removed an invite link, as this server asks.",)
    opened = await service.claim(result.post.id)
    assert "secretserver" not in opened.text and "[invite link removed]" in opened.text


async def test_the_refuse_policy_refuses_links(service: SharingService) -> None:
    await service.change_settings(GUILD, MODERATOR, NOW, link_policy="refuse")
    result = await share(service, text=TEXT + " https://example.org")
    assert result.outcome is Outcome.REFUSED and "links" in result.reason


async def test_mentions_are_neutralised_in_everything_stored(service: SharingService) -> None:
    result = await share(
        service,
        text=TEXT + " @everyone <@123456789012345678>",
        title="@here",
        content_warning="<@&99999999999999>",
    )
    opened = await service.claim(result.post.id)
    for part in (opened.text, opened.title, opened.content_warning):
        assert "@everyone" not in part and "@here" not in part and "<@1" not in part and "<@&" not in part


async def test_crisis_language_holds_a_share_even_with_vetting_off(service: SharingService) -> None:
    result = await share(service, text="I can't go on", assessment=CRISIS)
    assert result.outcome is Outcome.HELD and result.held_for_care
    assert result.post.flags == (FLAG_CRISIS,)
    assert result.post.status == "pending"


async def test_without_a_safety_answer_a_share_is_held_not_posted(service: SharingService) -> None:
    result = await share(service, assessment=None)
    assert result.outcome is Outcome.HELD and not result.held_for_care
    assert result.post.flags == (FLAG_SAFETY_DOWN,)


async def test_the_random_delay_stays_within_the_guild_setting_and_the_cap(
    db: Database, keyring: Keyring
) -> None:
    service = make_service(db, keyring, max_delay_seconds=30)
    with pytest.raises(UserFacingError, match="at most 30 seconds"):
        await service.change_settings(GUILD, MODERATOR, NOW, delay_seconds=31)
    await service.change_settings(GUILD, MODERATOR, NOW, delay_seconds=30)
    delays = []
    for n in range(3):
        result = await share(service, user=AUTHOR + n)
        assert result.outcome is Outcome.QUEUED
        delays.append(result.delay_seconds)
        assert result.post.post_at == NOW + timedelta(seconds=result.delay_seconds)
    assert all(0 <= d <= 30 for d in delays) and len(set(delays)) == 3
    assert await service.due(NOW) == []
    assert len(await service.due(NOW + timedelta(seconds=30))) == 3


async def test_a_guild_delay_above_a_lowered_cap_is_capped(db: Database, keyring: Keyring) -> None:
    await make_service(db, keyring, max_delay_seconds=600).change_settings(
        GUILD, MODERATOR, NOW, delay_seconds=600
    )
    lowered = make_service(db, keyring, max_delay_seconds=5)
    assert lowered.effective_delay(await lowered.config(GUILD)) == 5


async def test_replies_use_the_thread_name_and_mark_the_original_poster(service: SharingService) -> None:
    first = await share(service)
    await post_it(service, first.post.id, 30)
    own = await service.submit_reply(GUILD, AUTHOR, first.post.id, NOW, text="Thank you.", assessment=CALM)
    other = await service.submit_reply(
        GUILD, OTHER, first.post.id, NOW, text="Proud of you.", assessment=CALM
    )
    assert own.post.is_op and own.post.pseudonym == first.post.pseudonym
    assert not other.post.is_op and other.post.pseudonym != first.post.pseudonym
    second = await share(service, text=TEXT + " A second time, another day.")
    assert second.post.pseudonym != first.post.pseudonym


async def test_a_reply_to_a_reply_goes_under_the_same_share(service: SharingService) -> None:
    first = await share(service)
    await post_it(service, first.post.id, 40)
    reply = await service.submit_reply(GUILD, OTHER, first.post.id, NOW, text="Same here.", assessment=CALM)
    await post_it(service, reply.post.id, 42)
    nested = await service.submit_reply(GUILD, AUTHOR, reply.post.id, NOW, text="Thanks!", assessment=CALM)
    assert nested.post.share_id == first.post.id and nested.post.is_op


async def test_replies_to_a_share_not_yet_posted_are_refused(service: SharingService) -> None:
    held = await share(service, vetting=True)
    with pytest.raises(UserFacingError):
        await service.submit_reply(GUILD, OTHER, held.post.id, NOW, text="hello", assessment=CALM)


async def test_a_block_refuses_the_author_even_after_names_rotate(service: SharingService) -> None:
    first = await share(service)
    decision = await service.block_author(GUILD, first.post.id, MODERATOR, NOW, days=None, reason="spam")
    await service.rotate_names(GUILD, MODERATOR, NOW)
    refused = await share(service, text=TEXT + " once more")
    assert refused.outcome is Outcome.REFUSED and "can't share anonymously" in refused.reason
    assert (await share(service, user=OTHER)).outcome is Outcome.QUEUED
    await service.unblock(GUILD, decision.block.id, MODERATOR, NOW)
    assert (await share(service, text=TEXT + " once more")).outcome is Outcome.QUEUED


async def test_a_timed_block_ends_by_itself(service: SharingService) -> None:
    first = await share(service)
    await service.block_author(GUILD, first.post.id, MODERATOR, NOW, days=2, reason="cool off")
    blocked = await share(service, text=TEXT + " again", at=NOW + timedelta(days=1))
    assert blocked.outcome is Outcome.REFUSED and "until 04 March 2026" in blocked.reason
    assert (await share(service, text=TEXT + " again", at=NOW + timedelta(days=2, seconds=1))).post
    assert await service.blocks(GUILD, NOW + timedelta(days=3)) == []


async def test_rotating_names_renames_no_one_in_an_existing_thread_only_in_new_ones(
    db: Database, keyring: Keyring
) -> None:
    service = make_service(db, keyring, replies_per_hour=10)
    first = await share(service)
    await post_it(service, first.post.id, 50)
    before = await service.submit_reply(GUILD, OTHER, first.post.id, NOW, text="one", assessment=CALM)
    await service.rotate_names(GUILD, MODERATOR, NOW)
    after = await service.submit_reply(GUILD, OTHER, first.post.id, NOW, text="two", assessment=CALM)
    mine = await service.submit_reply(GUILD, AUTHOR, first.post.id, NOW, text="three", assessment=CALM)
    assert before.post.pseudonym == after.post.pseudonym, "one name per person within a thread"
    assert mine.post.pseudonym == first.post.pseudonym and mine.post.is_op
    second = await share(service, text=TEXT + " And another thing.")
    assert second.post.pseudonym == service.pseudonym(GUILD, second.post.id, AUTHOR, 1)
    assert second.post.pseudonym != service.pseudonym(GUILD, second.post.id, AUTHOR, 0)


async def test_vetting_decisions_forget_the_text_and_are_audited(
    service: SharingService, db: Database
) -> None:
    await service.set_dm_decisions(GUILD, AUTHOR, True)
    approved = await share(service, vetting=True)
    rejected = await share(service, text=TEXT + " take two", vetting=True)
    post = await service.approve(GUILD, approved.post.id, MODERATOR, NOW)
    assert post.status == "queued" and post.post_at == NOW
    with pytest.raises(UserFacingError, match="already decided"):
        await service.approve(GUILD, approved.post.id, MODERATOR, NOW)
    decision = await service.reject(GUILD, rejected.post.id, MODERATOR, "Please  add a content warning", NOW)
    assert decision.notify_user_id == AUTHOR
    row = await db.fetchone("SELECT * FROM sharing_posts WHERE id = ?", (rejected.post.id,))
    assert row["status"] == "rejected" and row["body_enc"] is None and row["notify_enc"] is None
    assert row["reject_reason"] == "Please add a content warning"
    claimed = await service.claim(approved.post.id)
    assert await service.posted(approved.post.id, NOW, channel_id=1, message_id=2, thread_id=3) == (
        True,
        AUTHOR,
    )
    assert claimed is not None
    actions = [(e.action, e.moderator_id) for e in await service.audit_log(GUILD)]
    assert actions == [("reject", MODERATOR), ("approve", MODERATOR)]


async def test_once_decided_a_post_keeps_only_ids_the_pseudonym_and_the_ban_key(
    db: Database, keyring: Keyring
) -> None:
    """Posted, abandoned and rejected posts forget their flags and care hold with their words."""
    service = make_service(db, keyring, shares_per_hour=10)
    await service.change_settings(GUILD, MODERATOR, NOW, add_terms="grimthorpe")
    flagged = f"{TEXT} Back at grimthorpe again."
    held = [
        (await share(service, text=flagged + f" ({n})", vetting=True, assessment=assessment)).post
        for n, assessment in enumerate((CRISIS, CALM, CRISIS, CALM))
    ]
    for post in held:
        assert post is not None and post.flags, "held with what the checks found"
    assert held[0].held_for_care and FLAG_CRISIS in held[0].flags
    crisis_posted, blocked_term_rejected, crisis_rejected, abandoned = (p.id for p in held)
    await service.approve(GUILD, crisis_posted, MODERATOR, NOW)
    await post_it(service, crisis_posted, 90)
    await service.reject(GUILD, blocked_term_rejected, MODERATOR, "not this one", NOW)
    await service.block_author(GUILD, crisis_rejected, MODERATOR, NOW, days=1, reason="")
    await service.unblock(GUILD, 1, MODERATOR, NOW)
    await service.approve(GUILD, abandoned, MODERATOR, NOW)
    assert await service.claim(abandoned) is not None
    await service.abandon(abandoned, NOW)

    rows = await db.fetchall("SELECT * FROM sharing_posts ORDER BY created_at")
    assert {r["status"] for r in rows} == {"posted", "rejected"}
    for row in rows:
        assert row["flags"] == "[]" and row["held_for_care"] == 0, dict(row)
        for sealed in ("body_enc", "title_enc", "warning_enc", "notify_enc", "care_level"):
            assert row[sealed] is None, (sealed, dict(row))
    kept = " ".join(str(value) for row in rows for value in tuple(row))
    assert FLAG_CRISIS not in kept and "blocked term" not in kept


async def test_blocking_from_review_rejects_the_pending_share(service: SharingService) -> None:
    held = await share(service, vetting=True)
    decision = await service.block_author(GUILD, held.post.id, MODERATOR, NOW, days=30, reason="abuse")
    assert decision.post.status == "pending"  # as it was just before
    mine = (await service.mine_page(GUILD, AUTHOR, 0, 100)).items
    assert mine[0].status == "rejected" and mine[0].body_enc is None
    assert [e.action for e in await service.audit_log(GUILD)] == ["block"]


async def test_a_failed_post_goes_back_in_the_queue(service: SharingService) -> None:
    result = await share(service)
    claimed = await service.claim(result.post.id)
    retry_at = await service.post_failed(result.post.id, claimed.post.attempts, NOW)
    assert retry_at == NOW + timedelta(seconds=30)
    assert await service.due(NOW) == []
    assert await service.due(retry_at) == [result.post.id]


async def test_a_post_being_sent_cannot_be_deleted_and_a_vanished_post_is_reported(
    service: SharingService,
) -> None:
    result = await share(service)
    await service.claim(result.post.id)
    with pytest.raises(UserFacingError, match="this very moment"):
        await service.delete_own(GUILD, AUTHOR, result.post.id, NOW)
    with pytest.raises(UserFacingError, match="this very moment"):
        await service.remove_by_moderator(GUILD, result.post.id, MODERATOR, NOW)
    await service.store.discard(result.post.id)
    assert await service.posted(result.post.id, NOW, channel_id=1, message_id=2, thread_id=None) == (
        False,
        None,
    )


async def test_links_in_a_title_count_under_the_refuse_policy(service: SharingService) -> None:
    await service.change_settings(GUILD, MODERATOR, NOW, link_policy="refuse")
    result = await share(service, title="see discord.gg/abc")
    assert result.outcome is Outcome.REFUSED and "links" in result.reason


async def test_interrupted_posts_are_requeued_at_start(service: SharingService) -> None:
    result = await share(service)
    await service.claim(result.post.id)
    assert await service.store.requeue_interrupted() == 1
    assert await service.due(NOW) == [result.post.id]


async def test_members_see_and_delete_only_their_own_items(service: SharingService, db: Database) -> None:
    first = await share(service)
    await post_it(service, first.post.id, 60)
    reply = await service.submit_reply(GUILD, OTHER, first.post.id, NOW, text="hugs", assessment=CALM)
    assert [p.id for p in (await service.mine_page(GUILD, AUTHOR, 0, 100)).items] == [first.post.id]
    assert [p.id for p in (await service.mine_page(GUILD, OTHER, 0, 100)).items] == [reply.post.id]
    with pytest.raises(UserFacingError, match="among yours"):
        await service.delete_own(GUILD, OTHER, first.post.id, NOW)
    gone = await service.delete_own(GUILD, AUTHOR, first.post.id, NOW)
    assert [p.id for p in gone] == [first.post.id, reply.post.id]
    assert await db.fetchval("SELECT COUNT(*) FROM sharing_posts") == 0
    entry = (await service.audit_log(GUILD))[0]
    assert entry.action == "delete" and entry.moderator_id is None


async def test_a_decision_dm_can_be_asked_for_only_by_the_author(service: SharingService) -> None:
    held = await share(service, vetting=True)
    with pytest.raises(UserFacingError):
        await service.request_decision_dm(GUILD, OTHER, held.post.id)
    assert await service.request_decision_dm(GUILD, AUTHOR, held.post.id)
    decision = await service.reject(GUILD, held.post.id, MODERATOR, "not today", NOW)
    assert decision.notify_user_id == AUTHOR
    assert not await service.request_decision_dm(GUILD, AUTHOR, held.post.id)


async def test_reports_are_limited_per_member(service: SharingService) -> None:
    for _ in range(10):
        await service.check_report(GUILD, OTHER, NOW)
    with pytest.raises(UserFacingError, match="a lot of reports"):
        await service.check_report(GUILD, OTHER, NOW)


async def test_personal_data_exports_and_erases_a_members_items(
    service: SharingService, db: Database, keyring: Keyring
) -> None:
    entry = next(e for e in REGISTRY if e.area == "sharing")
    pending = await share(service, vetting=True, content_warning="loss")
    posted = await share(service, text=TEXT + " the sequel")
    await post_it(service, posted.post.id, 70)
    other = await service.submit_reply(GUILD, OTHER, posted.post.id, NOW, text="hugs", assessment=CALM)
    await service.approve(GUILD, pending.post.id, MODERATOR, NOW)
    member = MemberRef(user_id=AUTHOR, ban_keys={GUILD: ban_key_for(keyring, GUILD, AUTHOR)})
    exported = await entry.export(db, keyring, member)
    by_id = {p["id"]: p for p in exported["posts"]}
    assert by_id[pending.post.id]["text"] == TEXT and by_id[pending.post.id]["content_warning"] == "loss"
    assert by_id[posted.post.id]["message_id"] == 70 and by_id[posted.post.id]["channel_id"] == 1
    assert by_id[posted.post.id]["thread_id"] == 71
    assert [a["kind"] for a in exported["recent_activity"]] == ["share", "share"], "rate-limit rows too"
    assert "hash" not in str(exported["recent_activity"])
    assert entry.retention == "shares"
    assert "encrypted" in entry.description and "up to a day" in entry.description
    moderator = MemberRef(user_id=MODERATOR, ban_keys={GUILD: ban_key_for(keyring, GUILD, MODERATOR)})
    moderator_export = await entry.export(db, keyring, moderator)
    assert [a["action"] for a in moderator_export["moderator_actions"]] == ["approve"]

    assert entry.posts is not None
    assert await entry.posts(db, member) == [(1, 70)]
    await service.block_author(
        GUILD, posted.post.id, MODERATOR, NOW, days=None, reason="hurt someone named X"
    )
    exported = await entry.export(db, keyring, member)
    assert exported["blocks"] and "hurt someone" not in str(exported), "a block's reason is not exported"
    assert exported["blocks_made"] == []
    made = (await entry.export(db, keyring, moderator))["blocks_made"]
    assert [(b["guild_id"], b["reason"], b["until"]) for b in made] == [(GUILD, "hurt someone named X", None)]
    assert "block_key" not in str(made), "the key of the member blocked is not the moderator's data"
    assert "decision DMs" in entry.description and "blocks you made" in entry.description
    assert "audit trail" in entry.description

    async with db.transaction() as tx:
        await entry.erase(tx, member)
        await entry.erase(tx, moderator)
    remaining = await db.fetchall("SELECT id, share_id FROM sharing_posts")
    assert [(r["id"], r["share_id"]) for r in remaining] == [(other.post.id, None)]
    assert (await entry.export(db, keyring, member))["posts"] == []
    assert await entry.posts(db, member) == []
    assert str(MODERATOR) not in await all_sharing_values(db)
    assert (await entry.export(db, keyring, moderator))["blocks_made"] == [], "erasing unnames the blocks"
    assert member.ban_keys[GUILD] not in str(await all_sharing_values(db)), "the block keeps no ban key"
    refused = await share(service, text=TEXT + " after erasing")
    assert refused.outcome is Outcome.REFUSED, "erasing one's data does not lift a block"


async def test_decided_posts_age_out_after_shares_days_but_waiting_ones_stay(
    db: Database, keyring: Keyring
) -> None:
    service = make_service(db, keyring, shares_per_hour=10)
    year_ago = NOW - timedelta(days=400)
    old_posted = await share(service, text=TEXT + " one", at=year_ago)
    await post_it(service, old_posted.post.id, 80, at=year_ago)
    old_rejected = await share(service, text=TEXT + " two", vetting=True, at=year_ago)
    await service.reject(GUILD, old_rejected.post.id, MODERATOR, "no", year_ago)
    old_waiting = await share(service, text=TEXT + " three", vetting=True, at=year_ago)
    recent = await share(service, text=TEXT + " four", at=NOW - timedelta(days=10))
    await post_it(service, recent.post.id, 81)
    [rule] = [r for r in RETENTION_RULES if r.kind == "shares"]
    assert await purge_older_than(db, rule, NOW - timedelta(days=365)) == 2
    kept = {r["id"] for r in await db.fetchall("SELECT id FROM sharing_posts")}
    assert kept == {old_waiting.post.id, recent.post.id}


async def test_an_erasure_leaves_only_the_review_messages_to_withdraw(
    service: SharingService, db: Database, keyring: Keyring
) -> None:
    entry = next(e for e in REGISTRY if e.area == "sharing")
    held = await share(service, vetting=True)
    await service.store.set_review_message(held.post.id, 42, 4242)
    member = MemberRef(user_id=AUTHOR, ban_keys={GUILD: ban_key_for(keyring, GUILD, AUTHOR)})
    async with db.transaction() as tx:
        await entry.erase(tx, member)
    [withdrawal] = await service.store.withdrawals()
    assert (withdrawal.guild_id, withdrawal.channel_id, withdrawal.message_id) == (GUILD, 42, 4242)
    await service.store.forget_withdrawal(withdrawal.id)
    assert await service.store.withdrawals() == []


async def test_blocks_an_older_hearth_kept_under_ban_keys_move_to_block_keys(
    tmp_path: Path, keyring: Keyring
) -> None:
    async with older_database(tmp_path, before=13) as database:
        ban_key = ban_key_for(keyring, GUILD, AUTHOR)
        await database.execute(
            "INSERT INTO sharing_blocks (id, guild_id, ban_key, reason, created_by, created_at, expires_at) "
            "VALUES (7, ?, ?, 'spam', ?, '2026-03-01T00:00:00+00:00', NULL)",
            (GUILD, ban_key, MODERATOR),
        )
        await database.migrate()
        service = make_service(database, keyring)
        await service.adopt_legacy_blocks()
        await service.adopt_legacy_blocks()  # the second start finds nothing left to move
        [block] = await service.blocks(GUILD, NOW)
        assert block.id == 7 and block.reason == "spam" and block.created_by == MODERATOR
        assert ban_key not in str(await all_sharing_values(database))
        refused = await share(service)
        assert refused.outcome is Outcome.REFUSED
