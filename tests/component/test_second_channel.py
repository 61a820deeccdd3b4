"""Seen pages, the SMS channel and the outage line, with the in-memory Matrix, a movable clock and a stand-in SMS
gateway on 127.0.0.1 (46elks' request shape)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.channels.sms.channel import outcomes
from bot.matrix.port import DeliveryFailure
from tests.harness.botrunner import write_config
from tests.harness.component import ANNA, BERTIL, CHEF, POLICE, POLICE_ROOM, UNIT_ROOM, ComponentBot
from tests.harness.fakematrix import FakeMatrix
from tests.harness.sms import PHONES, rosters_with_phones, sms_section
from tests.harness.smsgateway import GatewayStandIn

OTHER_POLICE_ROOM = "!police2:localhost"


@pytest.fixture
async def gateway():
    stand_in = await GatewayStandIn().start()
    yield stand_in
    await stand_in.stop()


async def start(tmp_path: Path, gateway: GatewayStandIn | None, unseen_after_s: int = 60, wait_s: int = 120,
                monitoring: str = "") -> ComponentBot:
    config_dir = tmp_path / "bot"
    sms = sms_section(config_dir, gateway.url, unseen_after_s, timeout_s=1) if gateway else ""
    write_config(
        config_dir, "http://127.0.0.1:9", "unused", [POLICE_ROOM, OTHER_POLICE_ROOM], [POLICE],
        rosters=rosters_with_phones(tmp_path / "rosters"),
        extra=f"\n[alarms]\nstep_wait_override_s = {wait_s}\n[units.testjour]\nroom = \"{UNIT_ROOM}\"\n{sms}"
              f"\n[monitoring]\noutage_notice_after_s = 120\n{monitoring}",
    )
    matrix = FakeMatrix()
    matrix.add_room(OTHER_POLICE_ROOM, POLICE)
    return await ComponentBot.start(tmp_path, matrix=matrix)


def sms_of(bot: ComponentBot, alarm_id: str) -> list[tuple[str, str, str, int]]:
    """Each SMS of the alarm as the browser view lists it: to whom, why, what became of it, after how many tries."""
    return [(o.user_id, o.why, o.status, o.attempts) for o in outcomes(bot.app.store, alarm_id)]


# --- seen ---------------------------------------------------------------------------------------------------------


async def test_a_read_page_shows_as_seen_in_status_is_audited_and_gets_no_sms(tmp_path, gateway):
    bot = await start(tmp_path, gateway, unseen_after_s=60)
    try:
        await bot.say(POLICE, "!larm Farsta två barn")
        page = bot.matrix.pages_to(ANNA)[0]
        await bot.advance(50)
        await bot.matrix.read(ANNA, page.room_id, page.event_id, bot.now)  # 14:02:50
        await bot.advance(70)  # past the unseen limit; at 14:04 Bertil is paged (Anna has not taken it)
        asked = await bot.say(POLICE, "!status")
        assert bot.answers_to(asked)[0].body == "L1 Farsta 14:02 — söker: Anna A (sedd 14:02) och Bertil B"
        assert gateway.requests == [], "a page that was read needs no SMS"
        seen = [row for row in bot.app.store.db.execute("SELECT actor, action, subject FROM audit")
                if row[1] == "page.seen"]
        assert seen == [(ANNA, "page.seen", "L1")]
    finally:
        await bot.stop()


async def test_reading_a_later_message_in_the_direct_room_counts_and_a_stale_receipt_does_not(tmp_path, gateway):
    bot = await start(tmp_path, gateway, unseen_after_s=300)
    try:
        room = bot.dm_room(ANNA) if any(r.direct_with == ANNA for r in bot.matrix.rooms.values()) else None
        assert room is None
        await bot.say(POLICE, "!larm Farsta")
        page = bot.matrix.pages_to(ANNA)[0]
        # A receipt the client sent before the page arrived (the first sync after a start replays it): not seen.
        await bot.matrix.read(ANNA, page.room_id, "$older-message", bot.now - 600)
        assert bot.app.alarms.seen("L1") == {}
        await bot.say(POLICE, "!larm Farsta")  # L2: Anna's direct room gets a second page after the first
        later = bot.matrix.pages_to(ANNA)[1]
        await bot.advance(30)
        await bot.matrix.read(ANNA, later.room_id, later.event_id, bot.now)
        assert set(bot.app.alarms.seen("L1")) == {ANNA} and set(bot.app.alarms.seen("L2")) == {ANNA}
    finally:
        await bot.stop()


# --- the second channel -------------------------------------------------------------------------------------------


async def test_a_page_unseen_past_its_limit_goes_by_sms_to_that_person_only_without_free_text(tmp_path, gateway):
    bot = await start(tmp_path, gateway, unseen_after_s=60)
    try:
        await bot.say(POLICE, "!larm Farsta två barn i lägenheten")
        await bot.advance(59)
        assert gateway.requests == []
        await bot.advance(1)
        assert [(r.to, r.sender, r.auth) for r in gateway.delivered] == [
            (PHONES[ANNA], "Jourbot", ("u-jourbot", "p-secret"))]
        assert gateway.delivered[0].message == "Jourlarm L1 (Farsta). Öppna Element och svara."
        await bot.advance(30)
        assert len(gateway.requests) == 1, "one SMS per page, however long it stays unseen"
        assert bot.paged() == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}
    finally:
        await bot.stop()


async def test_a_page_matrix_cannot_deliver_goes_by_sms_at_once(tmp_path, gateway):
    bot = await start(tmp_path, gateway, unseen_after_s=0)
    try:
        bot.matrix.refuse[ANNA] = DeliveryFailure("forbidden", "M_FORBIDDEN")
        await bot.say(POLICE, "!larm Farsta")
        assert [r.to for r in gateway.delivered] == [PHONES[ANNA]]
        assert bot.paged() == {"anna.a": 0, "bertil.b": 1, "chef.c": 0}
        await bot.advance(130)  # Bertil's page is not read, but unseen pages are off here
        assert [r.to for r in gateway.delivered] == [PHONES[ANNA]]
    finally:
        await bot.stop()


async def test_the_fallback_goes_to_the_supervisors_phones_and_an_accepted_alarm_sends_nothing_more(tmp_path, gateway):
    bot = await start(tmp_path, gateway, unseen_after_s=0, wait_s=60)
    try:
        await bot.say(POLICE, "!larm Farsta")
        await bot.advance(60)
        await bot.advance(60)
        await bot.advance(60)  # Anna, Bertil and Chef had their minute each: the chain is exhausted
        assert [(r.to, r.message) for r in gateway.delivered] == [
            (PHONES[CHEF], "Ingen har tagit larm L1 (Farsta). Öppna Element.")]
        await bot.say(POLICE, "!larm Farsta")
        bot.matrix.refuse[BERTIL] = DeliveryFailure("forbidden", "M_FORBIDDEN")
        gateway.script = ["5xx"]
        await bot.advance(60)  # L2: Bertil's page fails, his SMS is queued and its first try fails
        page = bot.matrix.pages_to(ANNA)[-1]
        await bot.react(ANNA, page.room_id, page.event_id)  # Anna takes L2
        await bot.advance(60)
        assert [r.to for r in gateway.delivered] == [PHONES[CHEF]], "no SMS for an alarm someone took"
        assert sms_of(bot, "L2") == [(BERTIL, "unreachable", "dropped", 2)], "tried once, then dropped"
    finally:
        await bot.stop()


async def test_a_gateway_error_is_retried_and_reported_once_and_a_refused_number_is_not_retried(tmp_path, gateway):
    bot = await start(tmp_path, gateway, unseen_after_s=30)
    try:
        gateway.script = ["5xx", "hang"]
        await bot.say(POLICE, "!larm Farsta")
        await bot.advance(30)
        assert [r.answer for r in gateway.requests] == ["5xx"]
        told = [s.body for s in bot.matrix.to_user(CHEF)]
        assert told == ["⚠️ SMS om L1 till Anna A gick inte iväg (fel hos SMS-tjänsten). Jag försöker igen."]
        assert bot.app.health_report().oldest_undelivered_s is None, "told in chat; /healthz judges the homeserver"
        await bot.advance(5)  # past the first backoff (at most 4 s)
        assert [r.answer for r in gateway.requests] == ["5xx", "hang"]
        await bot.advance(10)
        assert [r.answer for r in gateway.requests] == ["5xx", "hang", "ok"]
        assert [s.body for s in bot.matrix.to_user(CHEF)] == told, "told once, not at every try"
        metrics = bot.app.metrics.exposition().decode()
        assert 'jourbot_sms_total{outcome="retried",reason="server"} 1.0' in metrics
        assert 'jourbot_sms_total{outcome="retried",reason="timeout"} 1.0' in metrics
        assert 'jourbot_sms_total{outcome="sent",reason=""} 1.0' in metrics

        gateway.refused_numbers.add(PHONES[BERTIL])
        await bot.advance(90)  # Bertil is paged at 14:04 and has not read it by 14:04:30
        await bot.advance(30)
        await bot.advance(120)
        assert [r.to for r in gateway.requests].count(PHONES[BERTIL]) == 1
        assert [s.body for s in bot.matrix.to_user(CHEF) if "avvisades" in s.body] == [
            "⚠️ SMS om L1 till Bertil B (+46701740606) avvisades (numret godtogs inte). Kolla numret i personlistan"
            " och ring själv."]
        assert sms_of(bot, "L1") == [(ANNA, "unseen", "sent", 3), (BERTIL, "unseen", "failed", 1)]
        trail = [(e["action"], json.loads(e["data"])) for e in reversed(bot.app.store.audit.entries(1000))
                 if e["action"].startswith("sms.")]
        assert trail == [
            ("sms.failed", {"user": ANNA, "why": "unseen", "reason": "server"}),  # once, not at every retry
            ("sms.sent", {"user": ANNA, "why": "unseen"}),
            ("sms.refused", {"user": BERTIL, "why": "unseen", "reason": "rejected"}),
        ], "the audit trail says what became of each SMS, never its text or the number"
    finally:
        await bot.stop()


async def test_the_homeserver_coming_back_does_not_hurry_a_failing_sms(tmp_path, gateway):
    bot = await start(tmp_path, gateway, unseen_after_s=30)
    try:
        gateway.script = ["5xx"]
        await bot.say(POLICE, "!larm Farsta")
        await bot.advance(30)  # Anna's page unread: her SMS, and its first try fails
        assert [r.answer for r in gateway.requests] == ["5xx"]
        bot.matrix.homeserver_back(5.0)  # a blip of the homeserver's: what waited for it goes now
        await bot.settle()
        assert [r.answer for r in gateway.requests] == ["5xx"], "the gateway's backoff is its own"
        await bot.advance(5)  # past the first backoff (at most 4 s)
        assert [r.to for r in gateway.delivered] == [PHONES[ANNA]]
    finally:
        await bot.stop()


async def test_a_queued_sms_survives_a_restart_and_one_the_gateway_took_is_not_sent_again(tmp_path, gateway):
    bot = await start(tmp_path, gateway, unseen_after_s=30)
    try:
        gateway.script = ["5xx"]
        await bot.say(POLICE, "!larm Farsta")
        await bot.advance(30)
        bot = await bot.restart()
        await bot.advance(5)
        assert [r.answer for r in gateway.requests] == ["5xx", "ok"]
        bot = await bot.restart()
        await bot.advance(60)
        assert [r.answer for r in gateway.requests] == ["5xx", "ok"]
    finally:
        await bot.stop()


async def test_an_sms_waits_while_sms_is_turned_off_and_goes_when_it_is_on_again_if_still_needed(tmp_path, gateway):
    bot = await start(tmp_path, gateway, unseen_after_s=30)
    try:
        gateway.script = ["5xx"]
        await bot.say(POLICE, "!larm Farsta")
        await bot.advance(30)  # Anna's SMS fails once
        await bot.stop()
        config = bot.config_path.read_text()
        bot.config_path.write_text(config.replace("[sms]\nenabled = true", "[sms]\nenabled = false"))
        bot = await bot.restart()
        await bot.advance(30)
        assert sms_of(bot, "L1") == [(ANNA, "unseen", "pending", 1)], "not sent, and not failed either"
        await bot.stop()
        bot.config_path.write_text(config)
        bot = await bot.restart()
        await bot.advance(1)
        assert [r.answer for r in gateway.requests] == ["5xx", "ok"]
        assert sms_of(bot, "L1") == [(ANNA, "unseen", "sent", 2)]
    finally:
        await bot.stop()


# --- after an outage ----------------------------------------------------------------------------------------------


async def test_after_the_bot_was_down_each_police_room_is_told_once(tmp_path):
    bot = await start(tmp_path, None)
    try:
        await bot.stop()
        bot._clock[0] += 60  # a restart of a minute: no news
        bot = await bot.restart()
        await bot.settle()
        assert bot.police_lines() == [] and bot.matrix.to_room(OTHER_POLICE_ROOM) == []
        await bot.stop()
        bot._clock[0] += 25 * 60
        bot.matrix.missed = [bot.event(POLICE, POLICE_ROOM, "!larm Farsta", origin_ts=bot.now - 60)]
        bot = await bot.restart()
        await bot.settle()
        expected = "ℹ️ Jourboten var ur funktion 14:03–14:28. Det som skickades under tiden är nu hanterat."
        assert bot.police_lines()[-1] == expected
        assert "registrerat" in bot.police_lines()[0], "what came in meanwhile is handled first"
        assert [s.body for s in bot.matrix.to_room(OTHER_POLICE_ROOM)] == [expected]
        bot = await bot.restart()
        await bot.matrix.feed(bot.event(POLICE, POLICE_ROOM, "!jour Farsta"))
        await bot.settle()
        assert [s.body for s in bot.matrix.to_room(OTHER_POLICE_ROOM)] == [expected], "told once"
    finally:
        await bot.stop()


async def test_after_the_homeserver_was_unreachable_for_long_each_police_room_is_told_once(tmp_path):
    bot = await start(tmp_path, None)
    try:
        await bot.say(POLICE, "!jour Farsta")
        await bot.advance(30)
        bot.matrix.homeserver_back()  # a blip of 30 s
        await bot.say(POLICE, "!jour Farsta")
        await bot.advance(10 * 60)
        bot.matrix.homeserver_back()  # ten minutes without a sync
        await bot.say(POLICE, "!jour Farsta")
        await bot.say(POLICE, "!jour Farsta")
        notices = [line for line in bot.police_lines() if line.startswith("ℹ️")]
        assert notices == ["ℹ️ Jourboten nådde inte Matrix-servern 14:02–14:12. Det som skickades under tiden är"
                           " nu hanterat."]
        assert [s.body for s in bot.matrix.to_room(OTHER_POLICE_ROOM)] == notices
    finally:
        await bot.stop()


async def test_a_page_read_while_its_sms_waits_for_a_retry_needs_no_sms(tmp_path, gateway):
    bot = await start(tmp_path, gateway, unseen_after_s=30)
    try:
        gateway.script = ["5xx"]
        await bot.say(POLICE, "!larm Farsta")
        await bot.advance(30)
        page = bot.matrix.pages_to(ANNA)[0]
        await bot.matrix.read(ANNA, page.room_id, page.event_id, bot.now)
        await bot.advance(60)
        assert [r.answer for r in gateway.requests] == ["5xx"]
        assert sms_of(bot, "L1") == [(ANNA, "unseen", "dropped", 2)], "tried once, then dropped"
    finally:
        await bot.stop()


async def test_while_the_homeserver_is_down_a_page_past_its_delivery_deadline_goes_by_sms(tmp_path, gateway):
    bot = await start(tmp_path, gateway, unseen_after_s=0)
    try:
        bot.matrix.down = True
        await bot.say(POLICE, "!larm Farsta två barn")
        await bot.advance(59)
        assert gateway.requests == []
        await bot.advance(1)  # alarms.page_delivery_s: Anna counts as unreachable, and Bertil is paged
        assert [(r.to, r.message) for r in gateway.delivered] == [
            (PHONES[ANNA], "Jourlarm L1 (Farsta). Öppna Element och svara.")]
        assert bot.paged() == {"anna.a": 0, "bertil.b": 0, "chef.c": 0}
    finally:
        await bot.stop()


async def test_a_failing_sms_sweep_never_holds_back_an_escalation(tmp_path, gateway, monkeypatch):
    bot = await start(tmp_path, gateway, unseen_after_s=60, wait_s=120)
    try:
        def broken(now: float) -> None:
            raise RuntimeError("a bug in the SMS channel")

        assert bot.app.sms is not None
        monkeypatch.setattr(bot.app.sms, "sweep_unseen", broken)
        await bot.say(POLICE, "!larm Farsta")
        for _ in range(121):  # Anna's page goes unseen (its SMS sweep fails each second), then her wait runs out
            await bot.advance(1)
        assert bot.paged() == {"anna.a": 1, "bertil.b": 1, "chef.c": 0}, "escalated although the SMS sweep failed"
        monkeypatch.undo()
        await bot.advance(1)
        assert [r.to for r in gateway.delivered] == [PHONES[ANNA]], "sent at the next sweep once it works again"
    finally:
        await bot.stop()
