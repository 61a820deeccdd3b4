"""Rosters put in force without a restart: a saved file, SIGHUP or the web view's call; a folder that fails the
check is refused, the roster in force stays, and the supervisors are told why. A start on a broken folder runs on
the last good roster and says so.

The test roster (tests/integration/rosters): Testjouren answers for Farsta, Anna A primary and Bertil B secondary
round the clock, Chef C supervises; Tomjouren answers for Tomby and has nobody on call (a gap it always had).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
from datetime import UTC, datetime

from bot.cli.main import install_signal_handlers
from tests.harness.component import ANNA, CHEF, POLICE, ROSTERS, ComponentBot
from tests.harness.waits import until


def copy_rosters(tmp_path):
    folder = tmp_path / "rosters"
    shutil.copytree(ROSTERS, folder)
    return folder


def bertil_takes_the_primary_from_now(folder) -> None:
    """Overrides written in the file: Bertil B and Anna A swap primary and secondary from 14:00 today to 08:00."""
    path = folder / "testjour.toml"
    swap = ""
    for person, role in (("@bertil.b:localhost", "primary"), ("@anna.a:localhost", "secondary")):
        swap += f'\n[[override]]\nperson = "{person}"\nrole = "{role}"\nfrom = "2026-11-25 14:00"\n'
        swap += 'to = "2026-11-26 08:00"\nreason = "byter med varandra"\n'
    path.write_text(path.read_text() + swap)


def told_chef(bot: ComponentBot) -> list[str]:
    return [s.body for s in bot.matrix.to_user(CHEF)]


async def test_a_saved_change_is_put_in_force_and_the_supervisors_are_told(tmp_path):
    folder = copy_rosters(tmp_path)
    bot = await ComponentBot.start(tmp_path, rosters=folder)
    try:
        bertil_takes_the_primary_from_now(folder)
        await bot.app.rosters.poll()  # what the file watcher does every few seconds
        await bot.settle()
        assert told_chef(bot) == ["📋 Nytt schema gäller från 14:02 (ändrat: testjour.toml)."]
        await bot.say(POLICE, "!larm Farsta")
        assert bot.paged() == {"anna.a": 0, "bertil.b": 1, "chef.c": 0}
        # Tomjouren's gap was there before the change: it does not hold the correction back.
        assert bot.app.store.roster_snapshots.last().files["testjour.toml"] == (folder / "testjour.toml").read_bytes()
    finally:
        await bot.stop()


async def test_a_change_that_rewrites_the_turn_in_force_is_refused(tmp_path):
    folder = copy_rosters(tmp_path)
    bot = await ComponentBot.start(tmp_path, rosters=folder)
    try:
        path = folder / "testjour.toml"
        path.write_text(path.read_text().replace('["@anna.a:localhost"]', '["@bertil.b:localhost"]', 1))
        await bot.app.rosters.poll()
        await bot.settle()
        (told,) = told_chef(bot)
        assert "• testjour.toml: the primary shift from Wed 2026-11-25 08:00+01:00 (and 7 earlier) is Anna A's and" \
               " would become Bertil B's: a shift already begun is not rewritten." in told
        await bot.say(POLICE, "!larm Farsta")
        assert bot.paged() == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}
    finally:
        await bot.stop()


async def test_a_broken_file_is_refused_the_roster_in_force_stays_and_the_supervisors_are_told_why(tmp_path):
    folder = copy_rosters(tmp_path)
    bot = await ComponentBot.start(tmp_path, rosters=folder)
    try:
        (folder / "testjour.toml").write_text('name = = "Testjouren"\n')
        await bot.app.rosters.poll()
        await bot.settle()
        (told,) = told_chef(bot)
        assert told.startswith(f"⚠️ Schemat i {folder} godtogs inte – det gamla gäller fortfarande.")
        assert "• testjour.toml: not valid TOML" in told
        await bot.app.rosters.poll()  # nothing saved since: not said again
        await bot.settle()
        assert len(told_chef(bot)) == 1
        await bot.say(POLICE, "!larm Farsta")
        assert bot.paged() == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}
    finally:
        await bot.stop()


async def test_a_change_that_makes_a_gap_is_refused_and_the_gap_named(tmp_path):
    folder = copy_rosters(tmp_path)
    bot = await ComponentBot.start(tmp_path, rosters=folder)
    try:
        path = folder / "testjour.toml"
        anna = 'start = 2025-01-06\nmembers = ["@anna.a:localhost"]'
        path.write_text(path.read_text().replace(anna, "until = 2026-11-28\n" + anna))
        candidate = await bot.app.reload_rosters("web")  # what the web view calls
        await bot.settle()
        assert candidate is not None and not candidate.accepted
        (told,) = told_chef(bot)
        assert "• GAP Farsta (farsta): no primary from Sat 2026-11-28 08:00+01:00" in told
        chain = bot.app.roster.who("farsta", datetime(2026, 12, 1, 11, tzinfo=UTC))  # still the roster in force
        assert [p.user for p in chain.steps[0].people] == [ANNA]
    finally:
        await bot.stop()


async def test_sighup_reloads_the_rosters(tmp_path):
    folder = copy_rosters(tmp_path)
    bot = await ComponentBot.start(tmp_path, rosters=folder)
    loop = asyncio.get_running_loop()
    try:
        install_signal_handlers(bot.app)
        bertil_takes_the_primary_from_now(folder)
        os.kill(os.getpid(), signal.SIGHUP)
        await until(lambda: told_chef(bot), 5, "the supervisor told of the reload")
        await bot.settle()
        assert told_chef(bot) == ["📋 Nytt schema gäller från 14:02 (ändrat: testjour.toml)."]
        await bot.say(POLICE, "!larm Farsta")
        assert bot.paged() == {"anna.a": 0, "bertil.b": 1, "chef.c": 0}
    finally:
        for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await bot.stop()


async def test_a_start_on_a_broken_folder_runs_on_the_last_good_roster_and_says_so(tmp_path):
    folder = copy_rosters(tmp_path)
    bot = await ComponentBot.start(tmp_path, rosters=folder)
    await bot.stop()
    (folder / "testjour.toml").write_text('name = "Testjouren"\nsupervisors = ["@okand.o:localhost"]\n')
    bot = await bot.restart()
    try:
        await bot.settle()
        (told,) = told_chef(bot)
        assert told.startswith(f"⚠️ Schemat i {folder} kan inte användas (1 fel):\n• testjour.toml: unit testjour:")
        assert "Boten använder det senast godkända schemat (sparat 2026-11-25 14:02)." in told
        await bot.say(POLICE, "!larm Farsta")
        assert bot.paged() == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}
        # Put back as it was: the supervisors hear that the folder can be used again.
        shutil.copy(ROSTERS / "testjour.toml", folder / "testjour.toml")
        await bot.app.rosters.poll()
        await bot.settle()
        assert told_chef(bot)[-1] == f"📋 Schemat i {folder} går att använda igen och gäller från 14:02."
        # Then changed and saved: put in force.
        bertil_takes_the_primary_from_now(folder)
        await bot.app.rosters.poll()
        await bot.settle()
        assert told_chef(bot)[-1] == "📋 Nytt schema gäller från 14:02 (ändrat: testjour.toml)."
        await bot.say(POLICE, "!larm Farsta")
        assert bot.paged() == {"anna.a": 1, "bertil.b": 1, "chef.c": 0}
    finally:
        await bot.stop()


async def test_a_change_is_judged_with_the_leave_made_in_the_browser(tmp_path):
    """Doris D, new, takes over the primary from Saturday: fine on its own, but she is on leave (made in the browser)
    on Tuesday, so the change would leave Farsta without a primary that day — refused, as it would be used."""
    from zoneinfo import ZoneInfo

    from rosters import Leave

    stockholm = ZoneInfo("Europe/Stockholm")
    folder = copy_rosters(tmp_path)
    bot = await ComponentBot.start(tmp_path, rosters=folder)
    try:
        path = folder / "testjour.toml"
        anna = 'start = 2025-01-06\nmembers = ["@anna.a:localhost"]'
        path.write_text(path.read_text().replace(anna, "until = 2026-11-28\n" + anna) + (
            '\n[[rotation]]\nrole = "primary"\nshift = "08:00-08:00"\nevery = "daily"\nstart = 2026-11-28\n'
            'members = ["@doris.d:localhost"]\n'))
        people = folder / "people.toml"
        people.write_text(people.read_text() + '"@doris.d:localhost" = "Doris D"\n')
        with bot.app.store.transaction():
            leave = bot.app.leave.add(Leave("@doris.d:localhost", datetime(2026, 12, 1, 8, tzinfo=stockholm),
                                            datetime(2026, 12, 2, 8, tzinfo=stockholm)), CHEF,
                                      datetime.fromtimestamp(bot.now, UTC))
        candidate = await bot.app.reload_rosters("web")
        await bot.settle()
        assert candidate is not None and not candidate.accepted
        assert any("GAP Farsta (farsta): no primary from Tue 2026-12-01 08:00+01:00" in p for p in candidate.problems)
        chain = bot.app.roster.who("farsta", datetime(2026, 11, 29, 11, tzinfo=UTC))
        assert [p.user for p in chain.steps[0].people] == [ANNA], "the roster in force stays"

        with bot.app.store.transaction():
            bot.app.leave.remove(leave.entry, CHEF, datetime.fromtimestamp(bot.now, UTC))
        await bot.advance(60)
        candidate = await bot.app.reload_rosters("web")  # without the leave the same change is fine
        assert candidate is not None and candidate.accepted, candidate.problems
    finally:
        await bot.stop()


async def test_a_correction_that_only_shortens_a_gap_in_force_is_put_in_force(tmp_path):
    folder = copy_rosters(tmp_path)
    path = folder / "testjour.toml"
    anna = 'start = 2025-01-06\nmembers = ["@anna.a:localhost"]'
    path.write_text(path.read_text().replace(anna, "until = 2026-11-28\n" + anna))  # no primary from Saturday on
    bot = await ComponentBot.start(tmp_path, rosters=folder)
    try:
        path.write_text(path.read_text() + (  # Doris D from the Saturday after: a week's gap is left, no more
            '\n[[rotation]]\nrole = "primary"\nshift = "08:00-08:00"\nevery = "daily"\nstart = 2026-12-05\n'
            'members = ["@doris.d:localhost"]\n'))
        people = folder / "people.toml"
        people.write_text(people.read_text() + '"@doris.d:localhost" = "Doris D"\n')
        candidate = await bot.app.reload_rosters("web")
        assert candidate is not None and candidate.accepted, candidate and candidate.problems
        chain = bot.app.roster.who("farsta", datetime(2026, 12, 8, 11, tzinfo=UTC))
        assert [p.user for p in chain.steps[0].people] == ["@doris.d:localhost"]
    finally:
        await bot.stop()


async def test_the_same_broken_folder_refused_twice_in_one_instant_is_told_twice(tmp_path):
    folder = copy_rosters(tmp_path)
    bot = await ComponentBot.start(tmp_path, rosters=folder)
    try:
        (folder / "testjour.toml").write_text("name = = 'Testjouren'\n")
        for _ in range(2):  # two clicks in the browser within the same clock tick
            candidate = await bot.app.reload_rosters("web")
            assert candidate is not None and not candidate.accepted
        await bot.settle()
        assert len([t for t in told_chef(bot) if "testjour.toml" in t]) == 2
    finally:
        await bot.stop()
