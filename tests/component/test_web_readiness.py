"""The readiness page in the browser view: who on the coming week cannot be reached and what to do, as `roster ready`
says it; asked of the homeserver (here a stand-in) when the page is opened, and a clear word when it cannot be."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import pytest

from bot.matrix.reachability import Reach, ReachabilityError
from bot.readiness.report import ReadinessReporter
from tests.component.test_web import ask_link, start
from tests.harness.component import ANNA, BERTIL, CHEF, ComponentBot
from tests.harness.waits import until
from tests.harness.webclient import csrf_in

SAYS = {
    ANNA: Reach(account=True, devices=0, membership="join"),  # logged out of every device
    BERTIL: Reach(account=True, devices=1, cross_signed=1, membership="leave"),  # left the direct room
    CHEF: Reach(account=True, devices=2, cross_signed=2, membership="join"),
}


class StandIn:
    """The homeserver as the readiness lookups meet it: answers, refuses, or keeps them waiting."""

    def __init__(self) -> None:
        self.asked: list[set[str]] = []
        self.answered = 0  # lookups given their answer (the page has it at once: nothing is awaited after)
        self.down = False
        self.release: asyncio.Event | None = None  # set: lookups wait for it

    async def probe(self, people: Mapping[str, str | None]) -> dict[str, Reach]:
        self.asked.append(set(people))
        if self.release is not None:
            await self.release.wait()
        if self.down:
            raise ReachabilityError("the homeserver did not answer (ClientConnectorError)")
        self.answered += 1
        return {user: SAYS[user] for user in people}


@pytest.fixture
def homeserver(monkeypatch) -> StandIn:
    stand_in = StandIn()

    async def probe(_self: ReadinessReporter, people: Mapping[str, str | None]) -> dict[str, Reach]:
        return await stand_in.probe(people)

    monkeypatch.setattr(ReadinessReporter, "_ask_homeserver", probe)
    return stand_in


def with_direct_rooms(bot: ComponentBot) -> None:
    """Each of them has a direct room with the bot already (the homeserver says who is still in it)."""
    with bot.app.store.transaction():
        for user in (ANNA, BERTIL, CHEF):
            room = bot.matrix.add_room(f"!dm-{user}", user)
            bot.matrix.rooms[room].direct_with = user
            bot.app.store.direct_rooms.set(user, room)


async def test_a_supervisor_sees_who_cannot_be_reached_and_what_to_do_and_a_responder_is_refused(
        tmp_path, homeserver):
    bot, web = await start(tmp_path)
    try:
        with_direct_rooms(bot)
        _, _, now = await web.log_in(await ask_link(bot, CHEF))
        assert 'href="/readiness"' in now, "in the menu"
        status, _, page = await web.get("/readiness")
        assert status == 200 and homeserver.asked == [{ANNA, BERTIL, CHEF}]
        assert "Beredskap ons 25/11 – tis 1/12: 2 av 3 på schemat kan inte säkert nås." in page
        anna = page[page.index('id="ready-anna.a"'):page.index('id="ready-bertil.b"')]
        assert "Inte inloggad någonstans, så sidor kan inte nå hen." in anna
        assert "Be hen logga in i Element på jourtelefonen och tillåta aviseringar." in anna
        assert "första pass" in anna and "Testjouren" in anna
        bertil = page[page.index('id="ready-bertil.b"'):]
        assert "Har lämnat direktrummet med boten." in bertil and "be hen tacka ja och stanna kvar" in bertil
        assert 'id="ready-chef.c"' not in page and "Kan nås: Chef C" in page
        assert "Kontrollerat 14:02." in page

        responder = type(web)(bot.app.web.bound_port)  # type: ignore[union-attr]  # Anna's own browser
        try:
            await responder.log_in(await ask_link(bot, ANNA))
            status, _, refused = await responder.get("/readiness")
            assert status == 403 and "bara för jourchefer" in refused and "Inte inloggad" not in refused
        finally:
            await responder.close()
        assert len(homeserver.asked) == 1, "a refused page asks nothing"
    finally:
        await web.close()
        await bot.stop()


async def test_an_answer_is_kept_for_a_minute_then_asked_again(tmp_path, homeserver):
    bot, web = await start(tmp_path)
    try:
        with_direct_rooms(bot)
        await web.log_in(await ask_link(bot, CHEF))
        await web.get("/readiness")
        await web.get("/readiness")
        assert len(homeserver.asked) == 1, "a reload within a minute does not ask again"
        SAYS_NOW = dict(SAYS)
        SAYS[ANNA] = SAYS[CHEF]  # Anna logged in meanwhile
        try:
            await bot.advance(61)
            _, _, page = await web.get("/readiness")
            assert len(homeserver.asked) == 2 and 'id="ready-anna.a"' not in page and "Kontrollerat 14:03." in page
        finally:
            SAYS.update(SAYS_NOW)
    finally:
        await web.close()
        await bot.stop()


async def test_a_homeserver_that_is_down_or_slow_is_said_plainly(tmp_path, homeserver):
    bot, web = await start(tmp_path)
    try:
        with_direct_rooms(bot)
        await web.log_in(await ask_link(bot, CHEF))
        homeserver.down = True
        status, _, page = await web.get("/readiness")
        assert status == 200 and "Kunde inte fråga Matrix-servern just nu." in page and "ready-anna" not in page

        homeserver.down = False
        homeserver.release = asyncio.Event()
        assert bot.app.web is not None and bot.app.web.readiness is not None
        bot.app.web.readiness.timeout_s = 0.2
        status, _, page = await web.get("/readiness")
        assert status == 200 and "Kunde inte fråga Matrix-servern just nu." in page
        homeserver.release.set()  # the lookup went on: its answer is there at the next opening
        await until(lambda: homeserver.answered == 1, 5, "the lookup's answer")
        _, _, page = await web.get("/readiness")
        assert 'id="ready-anna.a"' in page and len(homeserver.asked) == 2
    finally:
        await web.close()
        await bot.stop()



async def test_a_changed_identity_is_listed_until_a_supervisor_confirms_it_with_the_button(tmp_path, homeserver):
    bot, web = await start(tmp_path)
    try:
        with_direct_rooms(bot)
        pins = bot.app.identities
        assert pins.admits(ANNA, "MASTER-1")  # pinned on first sight
        assert not pins.admits(ANNA, "MASTER-2")  # reset with her password
        await bot.settle()
        _, _, page = await web.log_in(await ask_link(bot, CHEF))
        status, _, page = await web.get("/readiness")
        listed = page[page.index('id="identity-anna.a"'):]
        assert status == 200 and "Anna A" in listed and "Krypteringsidentiteten har bytts" in listed
        anna = page[page.index('id="ready-anna.a"'):page.index('id="ready-bertil.b"')]
        assert "Krypteringsidentiteten har bytts" in anna  # among her problems too, as `roster ready` says it
        status, _, page = await web.post("/identities/confirm", {"user": ANNA, "csrf": csrf_in(page)})
        assert status == 200 and 'id="identity-anna.a"' not in page
        assert pins.admits(ANNA, "MASTER-2") and not bot.app.store.identities.get(ANNA).changed
        assert [e["action"] for e in bot.app.store.audit.about(ANNA)][-1] == "identity.confirmed"
        await bot.settle()
        assert any("bekräftade Anna As" in s.body for s in bot.matrix.to_user(CHEF))
    finally:
        await web.close()
        await bot.stop()
