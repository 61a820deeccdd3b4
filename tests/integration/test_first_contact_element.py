"""A responder on Element's strictest stack (matrix-js-sdk with its Rust crypto, "exclude insecure devices") who has
never shared a room with the bot reads her first page (bot/trust/first_contact.py).

Element decrypts what waits in a room the moment its user joins, before it has asked the homeserver for the other
members' devices, and refuses a message from a device it does not know yet for good (UNKNOWN_SENDER_DEVICE). So a
first page sent into a direct room made for it, its reader only invited, was lost; with `first_contact = false`
(the bot as it was) it still is, which the last test shows. The bot is cross-signed and trusts only cross-signed
devices (`trust = "cross-signed"`); Dora, on the roster, is a new account for every test: nobody the bot ever met."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest

from tests.harness.botrunner import BotRunner, write_config
from tests.harness.element import ElementPerson
from tests.harness.fakematrix import is_reminder
from tests.harness.people import Person, Received
from tests.harness.synapse import PASSWORD
from tests.harness.waits import settled, until
from tests.integration.test_alarms import BOT, ROSTERS, is_page
from tests.integration.test_trust_policy import cross_sign

pytestmark = pytest.mark.integration
WELCOME_START = "👋 Hej!"


def rosters_with(tmp_path: Path, dora: str, primary: str) -> Path:
    """The test rosters with Dora in Anna's place; `primary`: who of Dora and Bertil is paged first."""
    folder = tmp_path / "rosters"
    shutil.copytree(ROSTERS, folder)
    for name in ("people.toml", "testjour.toml"):
        path = folder / name
        path.write_text(path.read_text().replace("@anna.a:localhost", dora).replace("Anna A", "Dora D"))
    if primary != dora:
        path = folder / "testjour.toml"
        path.write_text(path.read_text().replace(f'members = ["{dora}"]', "members = [\"@@@\"]")
                        .replace('members = ["@bertil.b:localhost"]', f'members = ["{dora}"]')
                        .replace('members = ["@@@"]', 'members = ["@bertil.b:localhost"]'))
    return folder


async def start_bot(synapse, tmp_path: Path, police: Person, rosters: Path, bot_section: str) -> tuple[BotRunner, str]:
    room = await police.create_room([BOT])
    config = write_config(tmp_path / "bot", synapse.url, PASSWORD, [room], [police.user_id], rosters=rosters,
                          extra="\n[alarms]\nstep_wait_override_s = 600\n", bot_section=bot_section,
                          trust="cross-signed")
    bot = BotRunner(config)
    await bot.start()
    await police.wait_joined(room, BOT)
    return bot, room


def from_bot(person: ElementPerson) -> list[Received]:
    return person.from_sender(BOT)


def newcomer(node: str, synapse) -> ElementPerson:
    """Dora, a new account: nobody the bot ever met. Her client joins a room the moment it is invited, as a person
    who taps the invitation at once: the join that meets the bot's messages before it knows the bot's devices."""
    return ElementPerson(node, synapse.url, synapse.register(f"dora{uuid.uuid4().hex[:8]}", PASSWORD), PASSWORD)


async def test_a_responder_who_never_met_the_bot_reads_her_first_page(people, synapse, node, tmp_path):
    dora = newcomer(node, synapse)
    police, bertil, chef = await people("polis1"), await people("bertil.b"), await people("chef.c")
    try:
        await dora.start()
        for person in (police, bertil, chef):
            await cross_sign(person, tmp_path)
        bot, room = await start_bot(synapse, tmp_path, police, rosters_with(tmp_path, dora.user_id, dora.user_id),
                                    "first_contact = true\nfirst_contact_every_s = 1")
        try:
            # Invited ahead of any page, her client joins; the welcome that follows is the first thing she reads.
            welcome = await dora.wait_for(lambda m: m.sender == BOT and m.body.startswith(WELCOME_START), 30)
            assert dora.devices[welcome.event_id]["cross_signed"], dora.devices[welcome.event_id]

            await police.send(room, "!larm Farsta")
            page = await dora.wait_for(is_page("L1"), 30)
            assert dora.devices[page.event_id]["cross_signed"], dora.devices[page.event_id]
            assert page.room_id == welcome.room_id, "the page came into the room she was welcomed in"
            await settled(bot.app, police, bertil, chef)
            assert [len(dora.pages(BOT)), len(bertil.pages(BOT)), len(chef.pages(BOT))] == [1, 0, 0]
            assert [m.body.startswith(WELCOME_START) for m in from_bot(dora)] == [True, False], "welcome, page"
            assert not dora.undecryptable, dora.undecryptable
        finally:
            await bot.stop()
    finally:
        await dora.stop()


async def test_a_page_that_came_before_her_join_comes_again_readable_once_she_has_joined(people, synapse, node,
                                                                                       tmp_path):
    """Her room is not opened yet when she is paged (the bot opens one a day here, Bertil's first): the page makes
    it and goes out while she is only invited. Her client may refuse that page on joining (as the bot's first pages
    were refused, UNKNOWN_SENDER_DEVICE, whenever her join and the page met); its reminder, sent once the bot sees her
    join, she reads and answers."""
    dora = ElementPerson(node, synapse.url, synapse.register(f"dora{uuid.uuid4().hex[:8]}", PASSWORD), PASSWORD,
                         accept_invites=False)
    police, bertil, chef = await people("polis1"), await people("bertil.b"), await people("chef.c")
    try:
        await dora.start()
        for person in (police, bertil, chef):
            await cross_sign(person, tmp_path)
        bot, room = await start_bot(synapse, tmp_path, police, rosters_with(tmp_path, dora.user_id, BOT),
                                    "first_contact = true\nfirst_contact_every_s = 86400")
        try:
            await police.send(room, "!larm Farsta")
            first = await bertil.wait_for(is_page("L1"), 30)
            await bertil.send(first.room_id, "!nej L1 sjuk")
            await until(lambda: (alarm := bot.app.alarms.get("L1")) is not None and dora.user_id in alarm.delivered,
                        30, "Dora's page delivered while she is only invited")
            (direct,) = await dora.join_invited()
            again = await dora.wait_for(lambda m: is_page("L1")(m) and is_reminder(m.content), 30)
            assert again.room_id == direct and dora.devices[again.event_id]["cross_signed"], dora.devices
            print(f"\nthe page she found on joining: {'refused' if dora.undecryptable else 'read'}"
                  f" {list(dora.undecryptable.values())}")
            await dora.send(direct, "!ok L1")
            await until(lambda: any("L1 accepterat" in m.body for m in police.from_sender(BOT, room)), 30,
                        "the police told Dora took it")
            await settled(bot.app, police, bertil, chef)
            assert [len(bertil.pages(BOT)), len(chef.pages(BOT))] == [1, 0]
            assert len([m for m in from_bot(dora) if is_reminder(m.content)]) == 1, "one reminder"
            assert not any(m.body.startswith(WELCOME_START) for m in from_bot(dora)), "no welcome before her page"
        finally:
            await bot.stop()
    finally:
        await dora.stop()
