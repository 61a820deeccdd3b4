"""Figures for the evaluation over a planted February: `jourbot stats --csv` row by row, `!statistik` for one area,
and the monthly figures still there after the retention purge took the alarms.

The month, by hand (Stockholm time; Farsta's office is open 08:00–16:30 on weekdays):
  L1  Sat 31 Jan 23:00  before the period: must not be counted
  L2  Fri  6 Feb 23:10  Socialjouren; Anna accepts after 60 s, arrives after 30 min, assessment made after 2 h
                        (relative); listed Mon 9 Feb 08:00, received 08:45 (2,700 s after the opening)
  L3  Tue 10 Feb 10:00  the office itself; Cecilia accepts after 30 s, arrives after 40 min, no assessment made
  L4  Wed 11 Feb 22:00  cancelled by the police after 60 s, never accepted
  L5  Sat 14 Feb 02:00  Socialjouren; Anna accepts after 90 s, arrives after 25 min, assessment made after 13 h
                        (emergency placement: not the same night); listed Mon 16 Feb 08:00, received 09:15 (4,500 s)
So: time to acceptance 30, 60, 90 s (median 60, p90 90); time to arrival 1,500, 1,800, 2,400 s (median 1,800,
p90 2,400); the same night 1 of the 3 accepted; receipts 2,700 and 4,500 s (median 3,600); cancelled 1; the office
answered 1, Socialjouren 3.
"""

from __future__ import annotations

import csv
import io

from bot.cli.main import main
from bot.store.phases import PhaseRecord
from tests.harness.component import ANNA, CHEF, POLICE, UNIT_ROOM, ComponentBot
from tests.harness.handover import CECILIA, FARSTA_ROOM, advance_to, local, start

MINUTE = 60.0


async def accepted(bot: ComponentBot, at: float, number: int, by: str, after_s: float) -> None:
    await advance_to(bot, at)
    await bot.say(POLICE, "!larm Farsta två barn, grannen ringde")
    await advance_to(bot, at + after_s)
    page = bot.matrix.pages_to(by)[-1]
    await bot.say(by, f"!ok L{number}", room=page.room_id)


def phases(bot: ComponentBot, alarm: str, raised: float, arrived_min: float, assessed_h: float | None = None,
           decision: str | None = None, made: bool = True) -> None:
    with bot.app.store.transaction():  # as the phase commands record them (bot/store/phases.py)
        bot.app.store.phases.record(PhaseRecord(alarm, "en_route", raised + 5 * MINUTE, ANNA, eta_minutes=20))
        bot.app.store.phases.record(PhaseRecord(alarm, "arrived", raised + arrived_min * MINUTE, ANNA))
        if assessed_h is not None:
            bot.app.store.phases.record(PhaseRecord(alarm, "assessment", raised + assessed_h * 3600, ANNA,
                                                    assessment_made=made, decision=decision))


async def planted_february(tmp_path) -> ComponentBot:
    bot = await start(tmp_path, local("2026-01-31T22:00"))
    await accepted(bot, local("2026-01-31T23:00"), 1, ANNA, 60)
    await accepted(bot, local("2026-02-06T23:10"), 2, ANNA, 60)
    phases(bot, "L2", local("2026-02-06T23:10"), 30, 2, "relative")
    await advance_to(bot, local("2026-02-09T08:00"))
    await advance_to(bot, local("2026-02-09T08:45"))
    await bot.say(CECILIA, "!mottaget L2", room=FARSTA_ROOM)
    await accepted(bot, local("2026-02-10T10:00"), 3, CECILIA, 30)
    phases(bot, "L3", local("2026-02-10T10:00"), 40, 1, made=False)
    await advance_to(bot, local("2026-02-11T22:00"))
    await bot.say(POLICE, "!larm Farsta")
    await advance_to(bot, local("2026-02-11T22:01"))
    await bot.say(POLICE, "!avbryt L4 fel adress")
    await accepted(bot, local("2026-02-14T02:00"), 5, ANNA, 90)
    phases(bot, "L5", local("2026-02-14T02:00"), 25, 13, "emergency_placement")
    await advance_to(bot, local("2026-02-16T08:00"))
    await advance_to(bot, local("2026-02-16T09:15"))
    await bot.say(CECILIA, "!mottaget L5", room=FARSTA_ROOM)
    return bot


def stats_csv(bot: ComponentBot, capsys, *more: str) -> list[dict[str, str]]:
    capsys.readouterr()
    assert main(["stats", "--from", "2026-02-01", "--to", "2026-02-28", "--csv", "-c", str(bot.config_path),
                 *more]) == 0
    return list(csv.DictReader(io.StringIO(capsys.readouterr().out)))


async def test_the_csv_of_a_planted_month_matches_the_figures_by_hand(tmp_path, capsys):
    bot = await planted_february(tmp_path)
    try:
        rows = stats_csv(bot, capsys)
        assert [r["alarm"] for r in rows] == ["L2", "L3", "L4", "L5"], "L1 was raised in January"
        by_id = {r["alarm"]: r for r in rows}
        assert {k: by_id["L2"][k] for k in ("raised_at", "unit", "office_hours", "status", "accepted_after_s",
                                            "arrived_after_s", "assessment", "assessed_same_night", "decision",
                                            "handover_listed_at", "handover_received_after_s")} == {
            "raised_at": "2026-02-06T23:10:00+01:00", "unit": "socialjouren", "office_hours": "0",
            "status": "accepted", "accepted_after_s": "60", "arrived_after_s": "1800", "assessment": "made",
            "assessed_same_night": "1", "decision": "relative", "handover_listed_at": "2026-02-09T08:00:00+01:00",
            "handover_received_after_s": "2700"}
        assert (by_id["L3"]["unit"], by_id["L3"]["office_hours"], by_id["L3"]["assessment"],
                by_id["L3"]["handover_listed_at"]) == ("farsta", "1", "not_made", "")
        assert (by_id["L4"]["status"], by_id["L4"]["cancelled"], by_id["L4"]["accepted_after_s"]) == (
            "cancelled", "1", "")
        assert (by_id["L5"]["assessed_same_night"], by_id["L5"]["decision"],
                by_id["L5"]["handover_received_after_s"]) == ("0", "emergency_placement", "4500")
        waits = sorted(float(r["accepted_after_s"]) for r in rows if r["accepted_after_s"])
        arrivals = sorted(float(r["arrived_after_s"]) for r in rows if r["arrived_after_s"])
        assert waits == [30, 60, 90] and arrivals == [1500, 1800, 2400]
        assert "responder" not in rows[0], "no one's id without the flag"
        text = "".join(",".join(r.values()) for r in rows)
        assert "grannen" not in text and "fel adress" not in text and "Anna" not in text and "@" not in text
        with_ids = stats_csv(bot, capsys, "--with-responder-ids")
        assert [r["responder"] for r in with_ids] == [ANNA, CECILIA, "", ANNA]
        assert [r["alarm"] for r in stats_csv(bot, capsys, "--area", "farsta strand")] == ["L2", "L3", "L4", "L5"]
    finally:
        await bot.stop()


async def test_statistik_for_an_area_gives_arrival_assessments_handovers_and_units(tmp_path):
    bot = await planted_february(tmp_path)
    try:
        await advance_to(bot, local("2026-02-16T12:00"))
        asked = await bot.say(CHEF, "!statistik 10 Farsta", room=UNIT_ROOM)  # from 6 Feb 12:00: L2 to L5
        lines = bot.answers_to(asked)[0].body.split("\n")
        assert lines[0] == "📊 Senaste 10 dygnen: 4 larm, 3 accepterade, 0 avslutade, 1 avbrutet."
        assert lines[1] == "Tid till accept: median 1 min 0 s, 90:e percentil 1 min 30 s."
        assert lines[-5:] == [
            "Tid till framme: median 30 minuter, 90:e percentil 40 minuter (3 larm).",
            "Skyddsbedömning inom 12 timmar: 33\u00a0% (1 av 3).",  # a no-break space, as Swedish writes it
            "Beslut: hos anhörig 1, akutplacering 1.",
            "Överlämningar: 2, mottagna 2. Från öppning till mottagen: median 60 minuter.",
            "Hanterade av: Farsta stadsdelsförvaltning 1, Socialjouren 3.",
        ]
        # A daytime alarm accepted an hour ago and not yet assessed is not one missed: it counts once its twelve
        # hours are over (a supervisor's first hour found open daytime alarms counted against "samma natt").
        await accepted(bot, local("2026-02-16T12:05"), 6, CECILIA, 30)
        await advance_to(bot, local("2026-02-16T13:00"))
        asked = await bot.say(CHEF, "!statistik 10 Farsta", room=UNIT_ROOM)
        assert "Skyddsbedömning inom 12 timmar: 33\u00a0% (1 av 3)." in bot.answers_to(asked)[0].body
        await advance_to(bot, local("2026-02-17T00:10"))
        asked = await bot.say(CHEF, "!statistik 11 Farsta", room=UNIT_ROOM)  # from 6 Feb 00:10: L2 to L6
        assert "Skyddsbedömning inom 12 timmar: 25\u00a0% (1 av 4)." in bot.answers_to(asked)[0].body
        unknown = await bot.say(CHEF, "!statistik vecka Atlantis", room=UNIT_ROOM)
        assert [s.body for s in bot.answers_to(unknown)] == [
            'Okänt område "Atlantis". Skriv t.ex. !statistik månad Farsta.']
    finally:
        await bot.stop()


async def test_the_monthly_figures_outlive_the_purge_of_the_alarms(tmp_path, capsys):
    bot = await planted_february(tmp_path)
    try:
        bot._clock[0] = local("2027-04-01T03:00")  # over a year later: February 2026 is past the 365 days kept
        bot.app._purge()
        assert stats_csv(bot, capsys) == [], "the alarms themselves are gone"
        capsys.readouterr()
        assert main(["stats", "--from", "2026-01-01", "--to", "2026-12-31", "--monthly", "--csv",
                     "-c", str(bot.config_path)]) == 0
        kept = {(r["month"], r["area"]): r for r in csv.DictReader(io.StringIO(capsys.readouterr().out))}
        assert {k for k in kept if k[1] != "*"} == {("2026-01", "farsta"), ("2026-02", "farsta")}
        assert [(m, r["count"]) for (m, a), r in kept.items() if a == "*"] == [
            ("2026-01", "1"), ("2026-02", "4"), *((f"2026-{m:02d}", "0") for m in range(3, 13))], "the city, zeros too"
        february = kept[("2026-02", "farsta")]
        assert {k: february[k] for k in ("count", "accepted", "cancelled", "median_s", "p90_s", "office",
                                         "after_arrival_median_s", "after_arrival_p90_s",
                                         "after_assessed_same_night", "after_received_median_s",
                                         "decision_relative", "decision_emergency_placement")} == {
            "count": "4", "accepted": "3", "cancelled": "1", "median_s": "60.0", "p90_s": "90.0", "office": "1",
            "after_arrival_median_s": "1800.0", "after_arrival_p90_s": "2400.0", "after_assessed_same_night": "1",
            "after_received_median_s": "3600.0", "decision_relative": "1", "decision_emergency_placement": "1"}
        assert kept[("2026-01", "farsta")]["count"] == "1"
        bot.app._purge()  # a second purge keeps what was kept and rewrites nothing
        capsys.readouterr()
        main(["stats", "--from", "2026-02-01", "--to", "2026-02-28", "--monthly", "--csv", "-c",
              str(bot.config_path)])
        again = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
        assert [r["count"] for r in again] == ["4", "4"]
    finally:
        await bot.stop()
