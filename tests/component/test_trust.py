"""Trust (README, "Encryption and trust"): what a session without keys, an unverified device, a reset identity or a
stranger in a room can make the bot do — nothing — and what the people concerned are told.

Every test asserts who was paged and that nobody else was.
"""

from __future__ import annotations

from dataclasses import replace

from bot.matrix.port import SenderDevice
from bot.readiness.report import ReadinessReporter
from tests.harness.component import ANNA, BERTIL, CHEF, POLICE, POLICE_ROOM, STRANGER, ComponentBot
from tests.harness.fakematrix import TRUSTED

PLAIN = None  # an event that came in the clear: no device behind it
UNKNOWN = SenderDevice("", known=False, cross_signed=False, master_key=None)
UNSIGNED = SenderDevice("NEWPHONE", known=True, cross_signed=False, master_key=None)
ONLY_ENCRYPTED = "Jag läser bara krypterade meddelanden."


async def say(bot: ComponentBot, sender: str, body: str, room: str = POLICE_ROOM,
              device: SenderDevice | None = TRUSTED, reply_to: str | None = None) -> str:
    event = bot.event(sender, room, body, reply_to=reply_to, device=device)
    await bot.matrix.feed(event)
    await bot.settle()
    return event.event_id


def alarm_pages(bot: ComponentBot) -> dict[str, int]:
    """Pages of alarms only (a supervisor's warning about an identity also rings, and is no page; nor is a reminder)."""
    return bot.paged()


def answers(bot: ComponentBot, event_id: str) -> list[str]:
    return [s.body for s in bot.answers_to(event_id)]


async def test_a_plaintext_larm_raises_nothing_and_the_room_is_told_once_in_ten_minutes(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    try:
        first = await say(bot, POLICE, "!larm Farsta två barn", device=PLAIN)
        (told,) = answers(bot, first)
        assert told.startswith(ONLY_ENCRYPTED) and "Ring Testjouren direkt: 08-000 111 22" in told
        second = await say(bot, POLICE, "!larm Farsta två barn", device=PLAIN)
        assert answers(bot, second) == []  # the same room, within ten minutes: not again
        await bot.advance(601)
        third = await say(bot, POLICE, "!larm Farsta", device=PLAIN)
        assert answers(bot, third)[0].startswith(ONLY_ENCRYPTED)
        assert bot.app.store.alarms.states() == []
        assert bot.paged() == {"anna.a": 0, "bertil.b": 0, "chef.c": 0}
        # The same words, encrypted from the officer's own device, raise the alarm.
        await say(bot, POLICE, "!larm Farsta två barn")
        assert bot.paged() == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}
    finally:
        await bot.stop()


async def test_plaintext_ok_reaction_reply_and_edit_do_not_accept_and_escalation_goes_on(tmp_path):
    bot = await ComponentBot.start(tmp_path, wait_s=60)
    try:
        await say(bot, POLICE, "!larm Farsta")
        (page,) = bot.matrix.pages_to(ANNA)
        dm = page.room_id
        ok = await say(bot, ANNA, "!ok L1", room=dm, device=PLAIN)
        assert answers(bot, ok)[0].startswith(ONLY_ENCRYPTED)
        react = bot.event(ANNA, dm, kind="reaction", reacts_to=page.event_id, key="✅", device=PLAIN)
        await bot.matrix.feed(react)
        await say(bot, ANNA, "ok", room=dm, device=PLAIN, reply_to=page.event_id)
        await say(bot, ANNA, "!klar L1", room=dm, device=PLAIN)
        await bot.settle()
        assert bot.app.alarms.get("L1").status == "open"
        assert not any("accepterat" in line for line in bot.police_lines())
        await bot.advance(60)
        assert bot.paged() == {"anna.a": 1, "bertil.b": 1, "chef.c": 0}
        # Told once in the direct room, not once per attempt.
        assert sum(ONLY_ENCRYPTED in s.body for s in bot.matrix.to_room(dm)) == 1
    finally:
        await bot.stop()


async def test_a_device_the_bot_does_not_know_is_told_how_to_verify_and_changes_nothing(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    try:
        await say(bot, POLICE, "!larm Farsta")
        (page,) = bot.matrix.pages_to(ANNA)
        ok = await say(bot, ANNA, "!ok", room=page.room_id, device=UNKNOWN)
        (told,) = answers(bot, ok)
        assert "känner inte igen inloggningen" in told and "Sessioner" in told
        assert bot.app.alarms.get("L1").status == "open"
    finally:
        await bot.stop()


async def test_under_cross_signed_a_device_its_owner_did_not_sign_cannot_accept(tmp_path):
    bot = await ComponentBot.start(tmp_path, trust="cross-signed")
    try:
        await say(bot, POLICE, "!larm Farsta")
        (page,) = bot.matrix.pages_to(ANNA)
        ok = await say(bot, ANNA, "!ok", room=page.room_id, device=UNSIGNED)
        (told,) = answers(bot, ok)
        assert "inte verifierad av dig" in told
        assert bot.app.alarms.get("L1").status == "open"
        await say(bot, ANNA, "!ok", room=page.room_id)  # from her cross-signed phone
        assert bot.app.alarms.get("L1").status == "accepted"
        assert bot.paged() == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}
    finally:
        await bot.stop()


async def test_under_tofu_a_known_device_not_cross_signed_may_accept(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    try:
        await say(bot, POLICE, "!larm Farsta")
        (page,) = bot.matrix.pages_to(ANNA)
        await say(bot, ANNA, "!ok", room=page.room_id, device=UNSIGNED)
        assert bot.app.alarms.get("L1").status == "accepted"
    finally:
        await bot.stop()


async def test_a_reset_identity_stops_pages_moves_the_chain_on_and_a_supervisor_restores_them(tmp_path):
    bot = await ComponentBot.start(tmp_path, wait_s=600)
    try:
        signed = replace(TRUSTED, master_key="MASTER-1")
        bot.matrix.master_keys[ANNA] = "MASTER-1"
        await say(bot, ANNA, "!jour", room=bot.app.config.roles.police_rooms[0], device=signed)
        assert bot.app.store.identities.get(ANNA).master_key == "MASTER-1"  # pinned on first sight

        # Someone with Anna's password resets her identity and signs a new phone with it.
        bot.matrix.master_keys[ANNA] = "MASTER-2"
        await say(bot, POLICE, "!larm Farsta")
        # Her page is not sent: she counts as unreachable at once, and the chain moves on without waiting.
        assert alarm_pages(bot) == {"anna.a": 0, "bertil.b": 1, "chef.c": 0}
        assert any("kunde inte nås" in line and "krypteringsidentitet" in line for line in bot.police_lines())
        (to_chef,) = [s for s in bot.matrix.to_user(CHEF) if "Det kan vara en ny telefon" in s.body]
        assert "Anna A" in to_chef.body and f"!litar {ANNA}" in to_chef.body and to_chef.msgtype == "m.text"
        assert bot.app.store.identities.get(ANNA).changed
        # Her own words from the new identity make the bot do nothing either.
        reset = replace(TRUSTED, master_key="MASTER-2")
        dm_bertil = bot.matrix.pages_to(BERTIL)[0].room_id
        tried = await say(bot, ANNA, "!ok L1", room=POLICE_ROOM, device=reset)
        assert "krypteringsidentitet har bytts" in answers(bot, tried)[0]
        assert bot.app.alarms.get("L1").status == "open"

        # A supervisor who has called her confirms; the next alarm reaches her again.
        confirmed = await say(bot, CHEF, f"!litar {ANNA}", room=bot.dm_room(CHEF))
        assert answers(bot, confirmed) == ["✅ Anna As nya identitet är bekräftad. Sökningar når hen igen."]
        assert [e["action"] for e in bot.app.store.audit.about(ANNA)][-2:] == ["identity.changed",
                                                                               "identity.confirmed"]
        await say(bot, BERTIL, "!ok L1", room=dm_bertil)
        await say(bot, POLICE, "!larm Farsta hem 2")
        assert alarm_pages(bot) == {"anna.a": 1, "bertil.b": 1, "chef.c": 0}
        # Only supervisors may confirm.
        refused = await say(bot, ANNA, f"!litar {ANNA}", room=bot.dm_room(ANNA), device=reset)
        assert "inte tillgängligt" in answers(bot, refused)[0]
    finally:
        await bot.stop()


async def test_in_an_unencrypted_room_the_bot_says_only_that_it_works_in_encrypted_rooms(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    try:
        await say(bot, POLICE, "!larm Farsta två barn")
        open_room = bot.matrix.add_room("!open:localhost", CHEF, POLICE, encrypted=False)
        asked = await say(bot, CHEF, "!status", room=open_room)
        (told,) = answers(bot, asked)
        assert told == "Jag arbetar bara i krypterade rum. Det här rummet är inte krypterat, så jag gör ingenting här."
        again = await say(bot, POLICE, "!larm Farsta", room=open_room)
        assert answers(bot, again) == []  # once in a while, not at every message
        everything = " ".join(s.body for s in bot.matrix.to_room(open_room))
        assert "L1" not in everything and "Farsta" not in everything and "Anna" not in everything
        assert bot.paged() == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}
    finally:
        await bot.stop()


async def test_a_stranger_in_a_direct_room_is_removed_and_people_told_and_hears_nothing(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    try:
        await say(bot, POLICE, "!larm Farsta")
        dm = bot.dm_room(ANNA)
        await bot.say(ANNA, "!ok", room=dm)
        await bot.matrix.enter(dm, STRANGER)
        await bot.settle()
        assert (dm, STRANGER) in bot.matrix.kicked
        assert STRANGER not in bot.matrix.rooms[dm].members
        assert any(STRANGER in s.body and "tagits bort" in s.body for s in bot.matrix.to_user(ANNA))
        assert any(STRANGER in s.body and "Anna As direktrum" in s.body for s in bot.matrix.to_user(CHEF))
        audit = [e["action"] for e in bot.app.store.audit.about(dm)]
        assert "room.stranger_removed" in audit
    finally:
        await bot.stop()


async def test_a_page_never_goes_into_a_room_with_a_stranger_but_by_a_fresh_direct_room(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    try:
        await say(bot, POLICE, "!larm Farsta")
        old = bot.dm_room(ANNA)
        await bot.say(ANNA, "!ok", room=old)
        bot.matrix.unkickable.add(STRANGER)  # an administrator gave them more power than the bot has
        await bot.matrix.enter(old, STRANGER)
        await bot.settle()
        assert any("kunde inte ta bort" in s.body for s in bot.matrix.to_user(CHEF))
        before = len(bot.matrix.to_room(old))
        await say(bot, POLICE, "!larm Farsta andra gången")
        (page,) = [p for p in bot.matrix.pages_to(ANNA) if "andra gången" in p.body]
        assert page.room_id != old and STRANGER not in bot.matrix.rooms[page.room_id].members
        assert len(bot.matrix.to_room(old)) == before  # nothing more went into the room with the stranger
        assert bot.app.store.direct_rooms.get(ANNA) == page.room_id
        assert old in bot.matrix.left
        assert alarm_pages(bot) == {"anna.a": 2, "bertil.b": 0, "chef.c": 0}
    finally:
        await bot.stop()


async def test_a_direct_room_others_could_change_is_replaced_at_start_with_a_line_saying_why(tmp_path):
    bot = await ComponentBot.start(tmp_path)
    try:
        await say(bot, POLICE, "!larm Farsta")
        old = bot.dm_room(ANNA)
        await bot.say(ANNA, "!ok", room=old)
        # Made the old way: Anna had power to invite there.
        bot.matrix.rooms[old].flaws = (f"power:{ANNA}",)
        bot = await bot.restart()
        for _ in range(50):
            await bot.settle()
            if bot.app.store.direct_rooms.get(ANNA) != old:
                break
        fresh = bot.app.store.direct_rooms.get(ANNA)
        assert fresh != old and old in bot.matrix.left
        (why,) = [s.body for s in bot.matrix.to_room(fresh)]
        assert "fler än jourboten bjuda in" in why
        await say(bot, POLICE, "!larm Farsta hem 2")
        assert [p.room_id for p in bot.matrix.pages_to(ANNA)][-1] == fresh
    finally:
        await bot.stop()


async def test_under_tofu_a_new_device_of_a_known_person_is_named_to_the_supervisors_once(tmp_path, monkeypatch):
    async def nobody_asked(_self, people):
        return {}

    monkeypatch.setattr(ReadinessReporter, "_ask_homeserver", nobody_asked)
    bot = await ComponentBot.start(tmp_path)
    try:
        pins = bot.app.identities
        pins.seen_devices(ANNA, frozenset({"PHONE"}))  # where the bot starts from: not news
        await bot.app.readiness.report(bot.now)
        await bot.settle()
        assert not any("Nya inloggningar" in s.body for s in bot.matrix.to_user(CHEF))
        pins.seen_devices(ANNA, frozenset({"PHONE", "LAPTOP"}))
        await bot.app.readiness.report(bot.now)
        await bot.settle()
        (told,) = [s.body for s in bot.matrix.to_user(CHEF) if "Nya inloggningar" in s.body]
        assert "Anna A" in told and "LAPTOP" in told and "PHONE" not in told
        await bot.app.readiness.report(bot.now + 86400)
        await bot.settle()
        assert sum("Nya inloggningar" in s.body for s in bot.matrix.to_user(CHEF)) == 1
    finally:
        await bot.stop()
