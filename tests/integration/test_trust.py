"""Trust end to end, with a real Synapse: what a password alone (a session with no keys, a reset identity, a room a
colleague was let into) can make the bot do — nothing — and who is told.

Every test asserts who was paged and that nobody else was.
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path

import pytest

from bot.matrix.crosssign import ensure_cross_signing
from tests.harness.bare import BareSession
from tests.harness.people import Person
from tests.harness.synapse import PASSWORD
from tests.harness.waits import handled, settled
from tests.integration.test_alarms import BOT, Scene, bot_says, is_page, scene

pytestmark = pytest.mark.integration
ONLY_ENCRYPTED = "Jag läser bara krypterade meddelanden."


async def cross_sign(person: Person, key_file: Path) -> None:
    """Give `person` a cross-signing identity (made anew when `key_file` is new) and sign their device with it."""
    client = person.client
    if client.should_upload_keys:
        await client.keys_upload()
    status = await ensure_cross_signing(
        client.homeserver, client.access_token, client.user_id, client.device_id, PASSWORD, key_file,
        "test secret", device_ed25519=client.olm.account.identity_keys["ed25519"], reset=not key_file.exists(),
    )
    assert status.device_signed


async def forget_signed_devices(person: Person) -> None:
    """Log out every device of `person`: the test accounts live on for the session's other tests, which must not
    find a device signed here."""
    await person.client.logout(all_devices=True)


async def alarm_pages(s: Scene, alarm_id: str) -> dict[str, int]:
    """Pages of `alarm_id` each responder holds, once all the bot has queued has reached them."""
    await s.settled()
    return {p.user_id.split(":")[0][1:]: sum(alarm_id in m.body for m in p.pages(BOT)) for p in s.responders}


async def test_plaintext_larm_and_ok_from_a_session_without_keys_change_nothing(people, synapse, tmp_path):
    s = await scene(people, synapse, tmp_path, wait_s=3)
    try:
        stolen = await BareSession.login(synapse.url, s.police.user_id, PASSWORD, "stolen password")
        forged = await stolen.say(s.room, "!larm Farsta två barn (förfalskat)")
        told = await s.police.wait_for(bot_says(s, ONLY_ENCRYPTED, reply_to=forged), 20)
        assert told.encrypted and "Ring Testjouren direkt" in told.body
        # The real officer raises an alarm from their own device.
        larm = await s.police.send(s.room, "!larm Farsta två barn")
        page = await s.anna.wait_for(is_page("L1"), 20)
        assert "förfalskat" not in page.body

        # Anna's password in someone else's hands: a plain !ok, ✅ and "ok" in her encrypted direct room.
        anna_stolen = await BareSession.login(synapse.url, s.anna.user_id, PASSWORD, "stolen password")
        ok = await anna_stolen.say(page.room_id, "!ok L1")
        reaction = await anna_stolen.react(page.room_id, page.event_id)
        reply = await anna_stolen.say(page.room_id, "ok", reply_to=page.event_id)
        await s.anna.wait_for(bot_says(s, ONLY_ENCRYPTED, reply_to=ok), 20)
        # The chain moves on as if nothing had been said: Bertil is paged after the step's wait.
        await s.bertil.wait_for(is_page("L1"), 30)
        for forged_answer in (ok, reaction, reply):
            assert (await handled(s.app, forged_answer)).startswith("refused:")
        await s.settled()
        # No acceptance line (the escalation's "ingen har accepterat larmet än" is the chain moving on).
        assert not [m for m in s.police.received if m.sender == BOT and m.body.startswith("✅")]
        assert s.bot.app is not None and s.bot.app.alarms.get("L1").status == "open"
        # Told once in that room, not once per attempt.
        assert sum(ONLY_ENCRYPTED in m.body for m in s.anna.received if m.room_id == page.room_id) == 1
        await s.anna.send(page.room_id, "!ok L1")
        await s.police.wait_for(bot_says(s, "L1 accepterat av Anna A", reply_to=larm), 20)
        assert await alarm_pages(s, "L1") == {"anna.a": 1, "bertil.b": 1, "chef.c": 0}
    finally:
        await s.bot.stop()


async def test_a_device_its_owner_did_not_cross_sign_cannot_accept(people, synapse, tmp_path):
    police = await people("polis1")
    anna, bertil, chef = await people("anna.a"), await people("bertil.b"), await people("chef.c")
    for person in (police, anna, bertil, chef):
        await cross_sign(person, tmp_path / f"{person.user_id}.keys")
    s = await scene(people, synapse, tmp_path, wait_s=600, trust="cross-signed", police=police, anna=anna,
                    bertil=bertil, chef=chef)
    try:
        await s.police.send(s.room, "!larm Farsta")
        page = await s.anna.wait_for(is_page("L1"), 20)
        # A second login of Anna's, with keys of its own but never verified by her.
        other = Person(synapse.url, anna.user_id, PASSWORD, tmp_path / "anna-second")
        await other.start()
        try:
            await other.wait_until(lambda: page.room_id in other.client.rooms, 20)
            tried = await other.send(page.room_id, "!ok L1")
            refused = await s.anna.wait_for(bot_says(s, "inte verifierad av dig", reply_to=tried), 30)
            assert refused.encrypted
        finally:
            await other.stop()
        assert s.bot.app is not None and s.bot.app.alarms.get("L1").status == "open"
        await s.anna.send(page.room_id, "!ok L1")
        await s.police.wait_for(bot_says(s, "L1 accepterat av Anna A"), 20)
        assert await alarm_pages(s, "L1") == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}
    finally:
        await s.bot.stop()
        await forget_signed_devices(anna)


async def test_a_colleague_let_into_a_direct_room_is_removed_and_cannot_read_the_next_page(people, synapse, tmp_path):
    s = await scene(people, synapse, tmp_path, wait_s=600)
    colleague = await people("cecilia.c")
    admin_id = synapse.register("serveradmin", PASSWORD, admin=True)
    admin = await BareSession.login(synapse.url, admin_id, PASSWORD)
    try:
        await s.police.send(s.room, "!larm Farsta första")
        first = await s.anna.wait_for(is_page("L1"), 20)
        dm = first.room_id
        anna_http = await BareSession.login(synapse.url, s.anna.user_id, PASSWORD)
        # The bot's room: nobody but the bot may invite, and history shows from one's invitation (by the bot).
        levels = await anna_http.state(dm, "m.room.power_levels")
        # (From room version 12 the creator's power is its own and is not listed.)
        assert set(levels["users"]) <= {BOT} and levels["invite"] == 100 and levels["users_default"] == 0
        assert (await anna_http.state(dm, "m.room.history_visibility"))["history_visibility"] == "invited"
        status, _ = await anna_http.request("POST", f"/_matrix/client/v3/rooms/{urllib.parse.quote(dm)}/invite",
                                            {"user_id": colleague.user_id})
        assert status == 403  # Anna cannot invite her colleague

        # An administrator makes Anna the room's admin, and she lets her colleague in.
        await admin.make_room_admin(dm, s.anna.user_id)
        status, _ = await anna_http.request("POST", f"/_matrix/client/v3/rooms/{urllib.parse.quote(dm)}/invite",
                                            {"user_id": colleague.user_id})
        assert status == 200  # (her client joins on invitation, if the bot leaves her the time to)

        # The bot removes her, and tells Anna and the supervisor.
        await s.chef.wait_for(lambda m: m.sender == BOT and colleague.user_id in m.body and "Anna As direktrum"
                              in m.body, 30)
        member = await anna_http.state(dm, "m.room.member", colleague.user_id)
        assert member["membership"] == "leave"
        await s.police.send(s.room, "!larm Farsta andra, hemligt")
        second = await s.anna.wait_for(is_page("L2"), 30)
        assert second.room_id != dm  # the room others could change is not used again
        await settled(s.app, s.anna, colleague)
        assert not [m for m in colleague.received if "hemligt" in m.body]
        assert await alarm_pages(s, "L2") == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}
    finally:
        await s.bot.stop()


async def test_a_reset_identity_moves_the_chain_on_and_a_supervisors_confirmation_restores_pages(
        people, synapse, tmp_path):
    s = await scene(people, synapse, tmp_path, wait_s=600)
    try:
        await cross_sign(s.anna, tmp_path / "anna-1.keys")
        # Three alarms from one officer within minutes, each with its own words: the same words again would be a
        # repeat of the first, not a new alarm.
        await s.police.send(s.room, "!larm Farsta ett barn")
        page = await s.anna.wait_for(is_page("L1"), 20)
        await s.anna.send(page.room_id, "!ok L1")
        await s.police.wait_for(bot_says(s, "L1 accepterat av Anna A"), 20)
        app = s.bot.app
        assert app is not None
        pinned = app.store.identities.get(s.anna.user_id)
        assert pinned is not None and not pinned.changed

        # With her password alone, someone makes Anna a new identity and signs this device with it.
        await cross_sign(s.anna, tmp_path / "anna-2.keys")
        def heard() -> bool:  # the bot's sync brought the change of Anna's keys
            cached = app.matrix.directory.cached(s.anna.user_id)
            return cached is None or cached.master != pinned.master_key

        await s.anna.wait_until(heard, 20)
        await s.police.send(s.room, "!larm Farsta två barn")
        await s.bertil.wait_for(is_page("L2"), 20)  # at once: the step's wait is ten minutes
        told = await s.chef.wait_for(lambda m: m.sender == BOT and "krypteringsidentitet har bytts" in m.body
                                     and "!litar" in m.body and "Det kan vara" in m.body, 20)
        assert "Anna A" in told.body
        await s.police.wait_for(bot_says(s, "Anna A kunde inte nås"), 20)
        assert await alarm_pages(s, "L2") == {"anna.a": 0, "bertil.b": 1, "chef.c": 0}

        confirm = await s.chef.send(told.room_id, f"!litar {s.anna.user_id}")
        await s.chef.wait_for(bot_says(s, "nya identitet är bekräftad", reply_to=confirm), 20)
        await s.police.send(s.room, "!larm Farsta tre barn")
        third = await s.anna.wait_for(is_page("L3"), 30)
        assert third.encrypted
    finally:
        await s.bot.stop()
        await forget_signed_devices(s.anna)


async def test_in_an_unencrypted_room_status_says_nothing_about_alarms(people, synapse, tmp_path):
    s = await scene(people, synapse, tmp_path, wait_s=600)
    try:
        await s.police.send(s.room, "!larm Farsta")
        await s.anna.wait_for(is_page("L1"), 20)
        plain = await s.chef.create_room([BOT], encrypted=False)
        await s.chef.wait_joined(plain, BOT)
        asked = await s.chef.send(plain, "!status")
        answer = await s.chef.wait_for(lambda m: m.sender == BOT and m.room_id == plain, 20)
        assert answer.body.startswith("Jag arbetar bara i krypterade rum") and answer.reply_to == asked
        again = await s.chef.send(plain, "!jour Farsta")
        await handled(s.app, again)
        await settled(s.app, s.chef)
        said = " ".join(m.body for m in s.chef.received if m.room_id == plain and m.sender == BOT)
        assert "L1" not in said and "Anna" not in said and said.count("krypterade rum") == 1
    finally:
        await s.bot.stop()
