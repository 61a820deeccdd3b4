"""What must ring, rings, through the whole App: which messages are m.text with whom in `m.mentions` and by which
name, and which stay quiet m.notice.

Matrix's default push rules silence an m.notice even when it mentions someone (`.m.rule.suppress_notices` comes first),
so ringing takes m.text with an intentional mention; the person's name, never their Matrix id, opens the body for
clients that show no mentions.
"""

from __future__ import annotations

from bot.matrix.port import DeliveryFailure
from tests.harness.component import ANNA, BERTIL, CHEF, POLICE, POLICE_ROOM, UNIT_ROOM, ComponentBot
from tests.harness.fakematrix import Sent

OFFICER = "Polis Ett"  # the officer's display name; police are not in the rosters


def ringing(sent: list[Sent]) -> list[tuple[str, list[str]]]:
    """(body, mentioned) of each m.text: what rang and for whom."""
    return [(s.body, s.mentions) for s in sent if s.msgtype == "m.text"]


def assert_rings_only_by_mention(bot: ComponentBot) -> None:
    """Every m.text mentions someone and names them, by name, first; everything else is a notice with no mention."""
    for s in bot.matrix.sent:
        assert s.msgtype in ("m.text", "m.notice"), s
        assert (s.msgtype == "m.text") == bool(s.mentions), s.body
        if s.mentions:
            names = s.body.partition(": ")[0]
            assert "@" not in names and ":localhost" not in names, f"a Matrix id instead of a name: {s.body!r}"
            assert "matrix.to/#/" in s.content["formatted_body"], "a pill for clients that link it"


async def start(tmp_path, **kwargs) -> ComponentBot:
    bot = await ComponentBot.start(tmp_path, **kwargs)
    bot.matrix.display_names[POLICE] = OFFICER
    return bot


async def test_the_page_escalation_and_acceptance_ring_the_right_phones_and_the_rest_stays_quiet(tmp_path):
    bot = await start(tmp_path, alarms_toml="repeat_page_at = 0")
    try:
        larm = await bot.say(POLICE, "!larm Farsta två barn")
        raised = bot.answers_to(larm)[0]
        assert raised.msgtype == "m.notice", "the answer to the officer's own !larm: they are looking at it"
        (page,) = bot.matrix.pages_to(ANNA)
        assert page.mentions == [ANNA] and page.body.startswith("Anna A: 🚨 Larm L1 — Farsta, 14:02\n")
        assert ANNA not in page.body
        await bot.advance(120)
        await bot.say(BERTIL, "!ok L1", room=bot.dm_room(BERTIL))
        assert ringing(bot.matrix.to_room(POLICE_ROOM)) == [
            (f"{OFFICER}: ⏫ L1: ingen har accepterat larmet än. Söker nu även: Bertil B (Testjouren).", [POLICE]),
            (f"{OFFICER}: ✅ L1 accepterat av Bertil B (Testjouren) 14:04 — tel 08-000 111 22", [POLICE]),
        ]
        assert all(s.reply_to == larm for s in bot.matrix.to_room(POLICE_ROOM)), "each line answers the alarm"
        # Anna learns it is taken, Bertil that it is his, the unit room what happened: all quiet.
        assert [s.msgtype for s in bot.matrix.to_user(ANNA)] == ["m.text", "m.notice"]
        assert [s.msgtype for s in bot.matrix.to_user(BERTIL)] == ["m.text", "m.notice"]
        assert {s.msgtype for s in bot.matrix.to_room(UNIT_ROOM)} == {"m.notice"}
        # Who rang, in all: Anna and Bertil for their pages, the officer twice; nobody else, nothing else.
        assert {u: len(bot.matrix.rings_for(u)) for u in (ANNA, BERTIL, CHEF, POLICE)} == {
            ANNA: 1, BERTIL: 1, CHEF: 0, POLICE: 2}
        assert_rings_only_by_mention(bot)
    finally:
        await bot.stop()


async def test_answers_and_refusals_stay_notices(tmp_path):
    bot = await start(tmp_path)
    try:
        asked = [await bot.say(POLICE, text) for text in ("!jour Farsta", "!status", "!hjälp", "!ok L7")]
        await bot.say(CHEF, "!schema", room=UNIT_ROOM)
        answers = [s for e in asked for s in bot.answers_to(e)]
        assert len(answers) == 4 and len(bot.matrix.sent) == 5
        assert {s.msgtype for s in bot.matrix.sent} == {"m.notice"}
        assert all(s.mentions == [] for s in bot.matrix.sent)
    finally:
        await bot.stop()


async def test_the_fallback_rings_the_officer_and_every_supervisor_by_name(tmp_path):
    bot = await start(tmp_path, wait_s=60, alarms_toml="repeat_page_at = 0")
    try:
        await bot.say(POLICE, "!larm Farsta")
        for _ in range(3):
            await bot.advance(60)
        fallback = "⚠️ Ingen har accepterat L1. Ring Testjouren direkt: 08-000 111 22"
        assert ringing(bot.matrix.to_room(POLICE_ROOM))[-1] == (f"{OFFICER}: {fallback}", [POLICE])
        told = [s for s in bot.matrix.to_user(CHEF) if "Ingen har accepterat" in s.body]
        assert [(s.msgtype, s.body, s.mentions) for s in told] == [("m.text", f"Chef C: {fallback}", [CHEF])]
        assert_rings_only_by_mention(bot)
    finally:
        await bot.stop()


async def test_who_could_not_be_reached_rings_the_officer_and_the_supervisors(tmp_path):
    bot = await start(tmp_path)
    try:
        bot.matrix.refuse[ANNA] = DeliveryFailure("forbidden", "M_FORBIDDEN")
        await bot.say(POLICE, "!larm Farsta")
        assert ringing(bot.matrix.to_room(POLICE_ROOM))[0] == (
            f"{OFFICER}: ⚠️ L1: Anna A kunde inte nås (servern lät inte jourboten skriva dit).", [POLICE])
        (told,) = bot.matrix.to_user(CHEF)
        assert (told.msgtype, told.mentions) == ("m.text", [CHEF])
        assert told.body.startswith("Chef C: ⚠️ L1 (Farsta): Anna A kunde inte nås")
        assert_rings_only_by_mention(bot)
    finally:
        await bot.stop()


async def test_a_cancellation_rings_the_officer_unless_they_made_it(tmp_path):
    bot = await start(tmp_path)
    try:
        await bot.say(POLICE, "!larm Farsta")
        await bot.say(CHEF, "!avbryt L1 fel adress", room=UNIT_ROOM)
        cancelled = [s for s in bot.matrix.to_room(POLICE_ROOM) if "avbrutet" in s.body]
        assert [(s.msgtype, s.mentions) for s in cancelled] == [("m.text", [POLICE])]
        assert cancelled[0].body.startswith(f"{OFFICER}: 🚫 L1 (Farsta) avbrutet")
        await bot.say(POLICE, "!larm Farsta")
        await bot.say(POLICE, "!avbryt L2")
        mine = [s for s in bot.matrix.to_room(POLICE_ROOM) if "L2 (Farsta) avbrutet" in s.body]
        assert [(s.msgtype, s.mentions) for s in mine] == [("m.notice", [])], "not their own phone for their own act"
        assert_rings_only_by_mention(bot)
    finally:
        await bot.stop()


async def test_an_officer_without_a_display_name_is_called_by_the_localpart(tmp_path):
    bot = await ComponentBot.start(tmp_path, wait_s=60, alarms_toml="repeat_page_at = 0")
    try:
        await bot.say(POLICE, "!larm Farsta")
        await bot.advance(60)
        (line,) = ringing(bot.matrix.to_room(POLICE_ROOM))
        assert line == ("polis1: ⏫ L1: ingen har accepterat larmet än. Söker nu även: Bertil B (Testjouren).",
                        [POLICE])
    finally:
        await bot.stop()
