"""Safety end to end: /resources by region, /safety for moderators, and care offered by any feature."""

from __future__ import annotations

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from bot.cogs._care import offer_care
from bot.cogs._ui import hearth as hearth_of
from tests.fakediscord.harness import Harness

SEND_ROUTE = "POST /channels/{channel_id}/messages"


def _field(embed: dict, prefix: str) -> str:
    for field in embed.get("fields") or []:
        if field["name"].startswith(prefix):
            return field["value"]
    raise AssertionError(f"no field starting {prefix!r} in {embed.get('title')!r}")


# ----- /resources ---------------------------------------------------------------------


async def test_resources_follows_the_guild_region(hearth: Harness) -> None:
    alice = hearth.actor("alice")
    before = await alice.slash("resources")
    assert before.ephemeral
    assert "findahelpline.com" in before.text
    assert "Samaritans" not in before.text

    await (await hearth.actor("mod").slash("setup", region="UK")).reply()

    after = await alice.slash("resources")
    assert after.ephemeral
    helplines = _field(after.embed, "Helplines: United Kingdom")
    assert "116 123" in helplines and "Samaritans" in helplines
    assert "999" in helplines
    assert "Checked 2026-" in helplines
    for path in ("CBT", "EMDR", "Couples and family therapy", "Group therapy and support groups"):
        assert path in after.text
    assert "peer support" in after.text and "not therapy" in after.text
    # Nothing was posted publicly.
    assert hearth.fake.messages(hearth.channels["general"]) == []


async def test_a_member_can_look_up_another_region(hearth: Harness) -> None:
    result = await hearth.actor("bob").slash("resources", region="AU")
    assert "13 11 14" in _field(result.embed, "Helplines: Australia")
    assert "000" in result.text
    us = await hearth.actor("bob").slash("resources", region="US")
    assert "988" in _field(us.embed, "Helplines: United States")
    choices = await hearth.actor("bob").autocomplete("resources", "region", "zeal")
    assert [c["value"] for c in choices] == ["NZ"]


async def test_setup_offers_the_regions_from_the_resources_content(hearth: Harness) -> None:
    choices = await hearth.actor("mod").autocomplete("setup", "region", "")
    assert {"INTL", "US", "CA", "UK", "IE", "AU", "NZ"} <= {c["value"] for c in choices}
    refused = await (await hearth.actor("mod").slash("setup", region="ATLANTIS")).reply()
    assert "don't know the region" in refused.text


# ----- /safety ---------------------------------------------------------------------------


async def test_safety_test_shows_level_and_matches_to_moderators_only(hearth: Harness) -> None:
    mod = hearth.actor("mod")
    result = await mod.slash("safety test", text="honestly everyone would be better off without me")
    assert result.ephemeral
    assert _field(result.embed, "Level").startswith("crisis")
    assert "better off without me" in _field(result.embed, "Matched")
    assert "no (alerts channel: nowhere yet" not in result.text  # crisis always alerts...
    assert "alerts channel: nowhere yet" in result.text  # ...but there is no channel yet

    idiom = await mod.slash("safety test", text="you're killing it, I'd die for that cake")
    assert _field(idiom.embed, "Level").startswith("none")

    refused = await hearth.actor("alice").slash("safety test", text="anything")
    assert refused.ephemeral
    assert "moderator" in refused.content.lower()
    assert "Level" not in refused.text


async def test_guild_phrases_can_be_added_listed_tested_and_removed(hearth: Harness) -> None:
    mod = hearth.actor("mod")
    await (await mod.slash("setup", moderator_role=hearth.roles["Moderator"])).reply()
    # mod2 holds only the Moderator role: a moderator once /setup names it.
    mod2 = hearth.actor("mod2")
    added = await mod2.slash("safety phrases add", phrase="going to the quarry", level="crisis")
    await added.reply()
    assert "going to the quarry" in added.content
    ignored = await mod2.slash("safety phrases add", phrase="want to die of cringe", level="ignore")
    await ignored.reply()
    assert ignored.ephemeral

    listing = await mod2.slash("safety phrases list")
    assert "going to the quarry" in _field(listing.embed, "crisis")
    assert "want to die of cringe" in _field(listing.embed, "ignore")

    found = await mod2.slash("safety test", text="I'm GOING to the quaaarry tonight")
    assert _field(found.embed, "Level").startswith("crisis")
    choices = await mod2.autocomplete("safety phrases remove", "phrase", "quar")
    assert [c["value"] for c in choices] == ["going to the quarry"]

    removed = await mod2.slash("safety phrases remove", phrase="going to the quarry")
    assert "Removed" in removed.content
    gone = await mod2.slash("safety test", text="I'm going to the quarry tonight")
    assert _field(gone.embed, "Level").startswith("none")
    again = await mod2.slash("safety phrases remove", phrase="going to the quarry")
    assert "no such phrase" in again.content

    assert "moderator" in (await hearth.actor("alice").slash("safety phrases list")).content.lower()


async def test_an_ignore_phrase_cannot_switch_off_built_in_crisis_detection(hearth: Harness) -> None:
    mod = hearth.actor("mod")
    for word in ("want", "myself", "me"):
        refused = await mod.slash("safety phrases add", phrase=word, level="ignore")
        await refused.reply()
        assert refused.ephemeral and "at least 2 words" in refused.text
    listing = await mod.slash("safety phrases list")
    assert "None yet" in listing.text

    added = await mod.slash("safety phrases add", phrase="want to die", level="ignore")
    await added.reply()
    assert "Added `want to die` as **ignore**" in added.text
    assert "can't switch off built-in crisis detection" in added.text
    assert "honestly i just want to die" in added.text  # an example that still reads as crisis

    for text in ("I want to die", "i want to kill myself", "honestly i just want to die"):
        tested = await mod.slash("safety test", text=text)
        assert _field(tested.embed, "Level").startswith("crisis"), text

    # An ignore phrase still quiets the concern it wholly contains, in this server only.
    quiet = await mod.slash("safety phrases add", phrase="i feel alone in this dungeon", level="ignore")
    await quiet.reply()
    assert "can't switch off" not in quiet.text
    tested = await mod.slash("safety test", text="i feel alone in this dungeon")
    assert _field(tested.embed, "Level").startswith("none")


async def test_alerts_level_is_a_guild_choice(hearth: Harness) -> None:
    mod = hearth.actor("mod")
    shown = await mod.slash("safety alerts")
    assert "**crisis** only" in shown.content
    assert "no alerts channel" in shown.content
    await (await mod.slash("setup", alerts_channel=hearth.channels["alerts"])).reply()
    changed = await mod.slash("safety alerts", level="concern")
    assert "**crisis and concern**" in changed.content
    assert hearth.channels["alerts"].mention in changed.content


# ----- offer_care, driven through a probe command standing in for a feature ----------------


class CareProbe(commands.Cog):
    """A stand-in feature: assesses text and offers care the way shares, check-ins and the FAQ do."""

    @app_commands.command(name="probe", description="test only")
    async def probe(self, interaction: discord.Interaction, text: str, source: str,
                    anonymous: bool = False, alert: bool = True) -> None:
        bot = hearth_of(interaction)
        await interaction.response.send_message("Saved.", ephemeral=True)
        assessment = await bot.safety.assess(interaction.guild_id, text)
        await offer_care(
            interaction, assessment, source=source, alert=alert,
            review_link="https://discord.com/channels/1/2/3" if anonymous else None,
            link=None if anonymous else "https://discord.com/channels/1/2/4",
        )


@pytest.fixture
async def probed(hearth: Harness) -> Harness:
    await hearth.stop()
    hearth.on_start(lambda bot: bot.add_cog(CareProbe()))
    await hearth.start()
    await (await hearth.actor("mod").slash("setup", alerts_channel=hearth.channels["alerts"])).reply()
    return hearth


def _alerts(hearth: Harness) -> list:
    return hearth.fake.messages(hearth.channels["alerts"])


async def test_crisis_in_public_text_gives_private_resources_and_a_named_alert(probed: Harness) -> None:
    result = await probed.actor("alice").slash("probe", text="I want to end my life", source="check-in note")
    await result.wait_followups(1)
    care = result.followups[-1]
    assert care.ephemeral
    assert care.embed["title"] == "You're not alone"
    assert "findahelpline.com" in care.text
    assert "let this server's moderators know" in care.text
    alert = await probed.fake.wait_for_message(probed.channels["alerts"], lambda m: True, timeout=3)
    assert alert.embed["title"] == "Someone may be in crisis"
    assert "check-in note" in alert.text
    assert probed.members["alice"].user.mention in alert.text or str(probed.members["alice"].id) in alert.text
    assert "I want to end my life" not in alert.text  # the member's words stay with the member
    # Nobody was pinged by the alert.
    entry = probed.fake.journal.select(SEND_ROUTE, channel_id=probed.channels["alerts"].id)[-1]
    assert entry.json["allowed_mentions"]["parse"] == []


async def test_an_alert_about_anonymous_text_never_names_the_author(probed: Harness) -> None:
    alice = probed.members["alice"]
    result = await probed.actor("alice").slash("probe", text="everyone would be better off without me",
                                               source="share", anonymous=True)
    await result.wait_followups(1)
    assert "not who wrote it" in result.followups[-1].text
    alert = await probed.fake.wait_for_message(probed.channels["alerts"], lambda m: True, timeout=3)
    assert "anonymously" in alert.text
    assert "review item" in alert.text
    for trace in (str(alice.id), alice.user.mention, alice.user.username):
        assert trace not in alert.text
        assert trace not in str(alert.embeds)


async def test_a_journal_entry_never_alerts(probed: Harness) -> None:
    result = await probed.actor("alice").slash("probe", text="I want to kill myself", source="journal",
                                               alert=False)
    await result.wait_followups(1)
    care = result.followups[-1]
    assert care.ephemeral and "findahelpline.com" in care.text
    assert "Nobody has been told" in care.text
    assert _alerts(probed) == []


async def test_concern_gives_resources_but_alerts_only_if_the_guild_chose(probed: Harness) -> None:
    first = await probed.actor("bob").slash("probe", text="I feel so alone lately", source="faq")
    await first.wait_followups(1)
    assert first.followups[-1].embed["title"] == "You're not alone"
    assert _alerts(probed) == []
    await probed.actor("mod").slash("safety alerts", level="concern")
    second = await probed.actor("bob").slash("probe", text="I feel so alone lately", source="faq")
    await second.wait_followups(1)
    alert = await probed.fake.wait_for_message(probed.channels["alerts"], lambda m: True, timeout=3)
    assert alert.embed["title"] == "Someone may be struggling"


async def test_everyday_text_gets_nothing_extra(probed: Harness) -> None:
    result = await probed.actor("bob").slash("probe", text="this traffic is killing me", source="share")
    assert result.content == "Saved."
    assert result.followups == []
    assert _alerts(probed) == []


async def test_without_an_alerts_channel_the_member_is_told_nobody_was_told(probed: Harness) -> None:
    await (await probed.actor("mod").slash("setup", clear="alerts_channel")).reply()
    result = await probed.actor("alice").slash("probe", text="I want to die", source="reply")
    await result.wait_followups(1)
    assert "Nobody has been told" in result.followups[-1].text
    assert _alerts(probed) == []


async def test_an_alert_does_not_quote_the_member(probed: Harness) -> None:
    result = await probed.actor("carol").slash("probe", text="I keep thinking about killing myself",
                                               source="faq")
    await result.wait_followups(1)
    alert = await probed.fake.wait_for_message(probed.channels["alerts"], lambda m: True, timeout=3)
    assert "killing myself" not in alert.text
    assert "faq" in alert.text
