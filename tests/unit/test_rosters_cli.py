"""`jourbot roster …` as scripts use it: output shapes and exit codes."""

from __future__ import annotations

import argparse
import json

import icalendar
import pytest

from bot.cli.roster import add_roster_parser, run_roster
from tests.harness.rosters import EXAMPLES, NO_SUNDAY_NIGHT, PEOPLE, write_roster


def run(capsys, *argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="jourbot")
    add_roster_parser(parser.add_subparsers(dest="command"))
    code = run_roster(parser.parse_args(["roster", *argv]))
    out, err = capsys.readouterr()
    return code, out, err


def test_who_json_has_the_contract_shape(capsys):
    code, out, err = run(
        capsys, "who", "--area", "Farsta", "--at", "2026-06-19T03:00+02:00", "--rosters", str(EXAMPLES), "--json"
    )
    assert (code, err) == (0, "")
    assert json.loads(out) == {
        "area": "farsta",
        "at": "2026-06-19T03:00:00+02:00",
        "unit": "socialjouren",
        "chain": [
            {"role": "primary", "user": "@anna.a:localhost", "name": "Anna A"},
            {"role": "secondary", "user": "@bertil.b:localhost", "name": "Bertil B"},
            {"role": "supervisor", "user": "@chef.c:localhost", "name": "Chef C"},
        ],
    }
    assert out.count("\n") == 1  # one object on one line


def test_who_reads_a_local_time_in_the_areas_zone_and_prints_the_offset(capsys):
    code, out, _ = run(
        capsys, "who", "--area", "skarholmen", "--at", "2026-01-14 10:00", "--rosters", str(EXAMPLES), "--json"
    )
    answer = json.loads(out)
    assert code == 0
    assert answer["at"] == "2026-01-14T10:00:00+01:00"
    assert answer["unit"] == "skarholmen"
    assert [c["role"] for c in answer["chain"]] == ["primary", "secondary", "supervisor", "unit"]


def test_who_uses_the_environment_folder(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("JOURBOT_ROSTERS", str(write_roster(tmp_path)))
    code, out, _ = run(capsys, "who", "--area", "centrum", "--at", "2026-06-17T10:00+02:00", "--json")
    assert code == 0 and json.loads(out)["unit"] == "jour"


@pytest.mark.parametrize("command", [["who", "--area", "Farsta"], ["show", "--unit", "farsta", "--from", "2026-06-17",
                                                                   "--to", "2026-06-17"]])
def test_without_a_folder_the_example_city_is_never_used_unasked(capsys, monkeypatch, command):
    monkeypatch.delenv("JOURBOT_ROSTERS", raising=False)
    code, out, err = run(capsys, *command)
    assert (code, out) == (2, "")
    assert "which rosters? Give --rosters DIR, -c config.toml" in err and "JOURBOT_ROSTERS" in err
    assert f"--rosters {EXAMPLES}" in err, "says where the example city is, for whoever wants it"


def test_who_table_is_readable(capsys):
    code, out, _ = run(
        capsys, "who", "--area", "farsta strand", "--at", "2026-06-17T10:00+02:00", "--rosters", str(EXAMPLES)
    )
    assert code == 0
    assert "Farsta stadsdelsförvaltning (farsta), tel 08-508 000 10" in out
    assert "1. primary" in out and "Bertil B <@bertil.b:localhost>" in out


@pytest.mark.parametrize(
    ("at", "message"),
    [
        ("2026-03-29T02:30", "does not exist in Europe/Stockholm"),
        ("2026-10-25 02:30", "happens twice in Europe/Stockholm"),
        ("tomorrow", "is not a time"),
    ],
)
def test_who_refuses_a_time_that_is_not_one_instant(capsys, at, message):
    code, out, err = run(capsys, "who", "--area", "Farsta", "--at", at, "--rosters", str(EXAMPLES), "--json")
    assert (code, out) == (2, "")
    assert message in err and err.count("\n") == 1


def test_who_unknown_area_suggests_the_nearest(capsys):
    code, _, err = run(
        capsys, "who", "--area", "Skärholm", "--at", "2026-06-17T10:00+02:00", "--rosters", str(EXAMPLES)
    )
    assert code == 2
    assert "unknown area 'Skärholm'; did you mean Skärholmen?" in err


def test_check_passes_the_examples(capsys):
    code, out, err = run(capsys, "check", str(EXAMPLES), "--from", "2026-12-20T00:00+01:00")
    assert (code, err) == (0, "")
    assert out.startswith("OK: ") and "2 areas, 3 units" in out and out.count("\n") == 1


def test_check_without_from_looks_ahead_from_now(capsys):
    assert run(capsys, "check", str(EXAMPLES))[0] == 0


def test_check_fails_on_a_gap(capsys, tmp_path):
    folder = write_roster(tmp_path, jour_toml=NO_SUNDAY_NIGHT)
    code, out, err = run(capsys, "check", str(folder), "--from", "2026-06-15T08:00+02:00", "--days", "7")
    assert code == 1
    assert [line for line in out.splitlines() if line.startswith("GAP")] == [
        "GAP Farsta (farsta): no primary from Sun 2026-06-21 22:00+02:00 to Mon 2026-06-22 08:00+02:00 (10 h)",
        "GAP Centrum (centrum): no primary from Sun 2026-06-21 22:00+02:00 to Mon 2026-06-22 08:00+02:00 (10 h)",
    ]
    assert "2 gaps" in err


def test_check_json_gives_the_verdict_the_counts_and_each_finding(capsys, tmp_path):
    code, out, err = run(capsys, "check", str(EXAMPLES), "--from", "2026-12-20T00:00+01:00", "--json")
    answer = json.loads(out)
    assert (code, err, answer["ok"], answer["findings"], answer["problems"]) == (0, "", True, [], [])
    assert (answer["areas"], answer["units"], answer["from"]) == (2, 3, "2026-12-20T00:00:00+01:00")

    folder = write_roster(tmp_path, jour_toml=NO_SUNDAY_NIGHT)
    code, out, _ = run(capsys, "check", str(folder), "--from", "2026-06-15T08:00+02:00", "--days", "7", "--json")
    answer = json.loads(out)
    assert (code, answer["ok"]) == (1, False)
    gaps = [f for f in answer["findings"] if f["kind"] == "gap"]
    assert [(g["subject"], g["start"], g["end"]) for g in gaps] == [
        ("farsta", "2026-06-21T22:00:00+02:00", "2026-06-22T08:00:00+02:00"),
        ("centrum", "2026-06-21T22:00:00+02:00", "2026-06-22T08:00:00+02:00"),
    ]
    assert gaps[0]["line"].startswith("GAP Farsta (farsta): no primary from Sun 2026-06-21 22:00")


def test_check_json_on_a_roster_that_cannot_be_used_names_the_problems(capsys, tmp_path):
    folder = write_roster(tmp_path, areas_toml='[[area]]\nid = "x"\nname = "X"\nother_unit = "nope"\n')
    code, out, _ = run(capsys, "check", str(folder), "--json")
    answer = json.loads(out)
    assert (code, answer["ok"], answer["findings"]) == (1, False, [])
    assert any("areas.toml: area x: 'other_unit': unknown unit 'nope'" in p for p in answer["problems"])


def test_check_fails_on_errors_and_lists_them(capsys, tmp_path):
    folder = write_roster(tmp_path, areas_toml='[[area]]\nid = "x"\nname = "X"\nother_unit = "nope"\n')
    code, out, err = run(capsys, "check", str(folder))
    assert (code, out) == (1, "")
    assert "areas.toml: area x: 'other_unit': unknown unit 'nope'" in err


def test_show_json_lists_final_shifts(capsys):
    code, out, _ = run(
        capsys,
        "show",
        "--unit",
        "farsta",
        "--from",
        "2026-06-17",
        "--to",
        "2026-06-19",
        "--rosters",
        str(EXAMPLES),
        "--json",
    )
    shifts = json.loads(out)
    assert code == 0
    assert [(s["role"], s["start"], s["end"]) for s in shifts] == [
        ("primary", "2026-06-17T08:00:00+02:00", "2026-06-17T16:30:00+02:00"),
        ("secondary", "2026-06-17T08:00:00+02:00", "2026-06-17T16:30:00+02:00"),
        ("primary", "2026-06-18T08:00:00+02:00", "2026-06-18T13:00:00+02:00"),
        ("secondary", "2026-06-18T08:00:00+02:00", "2026-06-18T13:00:00+02:00"),
    ]  # nothing on midsommarafton, the 19th
    assert set(shifts[0]) == {"unit", "role", "user", "name", "start", "end", "source"}


def test_show_refuses_an_unknown_unit_and_a_backwards_range(capsys):
    code, _, err = run(
        capsys, "show", "--unit", "jouren", "--from", "2026-06-17", "--to", "2026-06-19", "--rosters", str(EXAMPLES)
    )
    assert code == 2 and "unknown unit 'jouren'" in err
    code, _, err = run(
        capsys, "show", "--unit", "farsta", "--from", "2026-06-19", "--to", "2026-06-17", "--rosters", str(EXAMPLES)
    )
    assert code == 2 and "is not after" in err


def test_ics_writes_a_file(capsys, tmp_path):
    target = tmp_path / "anna.ics"
    code, out, _ = run(
        capsys,
        "ics",
        "--person",
        "@anna.a:localhost",
        "--from",
        "2026-06-15",
        "--to",
        "2026-06-21",
        "--rosters",
        str(EXAMPLES),
        "-o",
        str(target),
    )
    assert (code, out) == (0, "")
    events = icalendar.Calendar.from_ical(target.read_bytes()).walk("VEVENT")
    assert events and all(str(e["X-JOURBOT-USER"]) == "@anna.a:localhost" for e in events)


def test_ics_needs_a_unit_or_a_person(capsys):
    with pytest.raises(SystemExit) as exited:
        run(capsys, "ics", "--from", "2026-06-15", "--to", "2026-06-21")
    assert exited.value.code == 2


def test_check_names_file_and_person_for_a_bad_phone_number(capsys, tmp_path):
    people = PEOPLE.replace(
        '"@eva.e:localhost" = "Eva E"', '"@eva.e:localhost" = { name = "Eva E", phone = "08-123 45" }'
    )
    code, out, err = run(capsys, "check", str(write_roster(tmp_path, people_toml=people)))
    assert (code, out) == (1, "")
    assert "people.toml: person @eva.e:localhost: phone '08-123 45' is not in E.164 form" in err


def _bot_with_override(tmp_path):
    """A bot's config and database (as `jourbot run` leaves them) holding one `!byt` made in chat: Cecilia C takes
    Farsta's primary on Wednesday 17 June 2026 from 10:00 to 12:00, in Bertil B's week."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from bot.store import Store
    from bot.store.secretbox import SecretBox
    from rosters import Override
    from tests.harness.botrunner import TEST_DATA_KEY, write_config

    config = write_config(tmp_path / "bot", "http://127.0.0.1:9", "unused", ["!p:localhost"], ["@polis1:localhost"])
    sthlm = ZoneInfo("Europe/Stockholm")
    store = Store(tmp_path / "bot" / "state" / "jourbot.db", SecretBox(TEST_DATA_KEY))
    start, end = datetime(2026, 6, 17, 10, tzinfo=sthlm), datetime(2026, 6, 17, 12, tzinfo=sthlm)
    store.overrides.add(Override("@cecilia.c:localhost", "Cecilia C", "farsta", "primary", start, end), "x", end)
    removed = store.overrides.add(Override("@chef.c:localhost", "Chef C", "farsta", "secondary", start, end), "x", end)
    store.overrides.remove(removed.id or "", end)
    store.close()
    return config


def test_show_and_ics_include_an_override_made_in_chat(capsys, tmp_path):
    config = str(_bot_with_override(tmp_path))
    span = ("--from", "2026-06-17", "--to", "2026-06-17")
    code, out, _ = run(capsys, "show", "--unit", "farsta", *span, "-c", config, "--json")
    primaries = [(s["user"], s["start"][11:16], s["end"][11:16], s["source"]) for s in json.loads(out)
                 if s["role"] == "primary"]
    assert code == 0
    assert primaries == [
        ("@bertil.b:localhost", "08:00", "10:00", "rotation"),
        ("@cecilia.c:localhost", "10:00", "12:00", "override"),
        ("@bertil.b:localhost", "12:00", "16:30", "rotation"),
    ]
    assert all(s["user"] != "@chef.c:localhost" for s in json.loads(out))  # the removed one is not shown
    without = json.loads(run(capsys, "show", "--unit", "farsta", *span, "--rosters", str(EXAMPLES), "--json")[1])
    assert [s["user"] for s in without if s["role"] == "primary"] == ["@bertil.b:localhost"]

    code, out, _ = run(capsys, "ics", "--person", "@cecilia.c:localhost", *span, "-c", config)
    farsta = [e for e in icalendar.Calendar.from_ical(out).walk("VEVENT") if str(e["SUMMARY"]).startswith("Farsta")]
    assert code == 0
    assert [(e.decoded("dtstart").isoformat(), str(e["X-JOURBOT-ROLE"])) for e in farsta] == [
        ("2026-06-17T10:00:00+02:00", "primary")
    ]


def test_check_fails_on_a_step_that_pages_nobody_new_and_says_how_many(capsys, tmp_path):
    folder = write_roster(tmp_path, jour_toml=JOUR_ONE_ROTATION)
    code, out, err = run(capsys, "check", str(folder), "--from", "2026-06-15T08:00+02:00", "--days", "1")
    assert code == 1
    assert "STEP Jouren (jour): step 2 (secondary) resolves to nobody from Mon 2026-06-15 08:00+02:00" in out
    assert "steps that page nobody new in" in err and "gaps" not in err


JOUR_ONE_ROTATION = """
name = "Jouren"
supervisors = ["@chef.c:localhost"]
members = ["@bertil.b:localhost"]

[[rotation]]
role = "primary"
shift = "08:00-08:00"
every = "daily"
start = 2026-01-01
members = ["@anna.a:localhost"]
"""


def test_show_marks_a_turn_taken_for_someone_on_leave(capsys):
    # The examples: David D is away 5-25 July 2027; Cecilia C takes his Skärholmen turns.
    span = ("--from", "2027-07-06", "--to", "2027-07-06", "--rosters", str(EXAMPLES))
    code, out, _ = run(capsys, "show", "--unit", "skarholmen", *span)
    assert code == 0
    assert "Cecilia C <@cecilia.c:localhost>  (for David D, on leave)" in out
    shifts = json.loads(run(capsys, "show", "--unit", "skarholmen", *span, "--json")[1])
    assert [s.get("covers") for s in shifts if s["role"] == "primary"] == ["@david.d:localhost"]


def test_show_and_who_include_leave_made_in_the_browser(capsys, tmp_path):
    """Bertil B holds Farsta's primary in the week of 17 June 2026; a supervisor put him on leave that day in the
    browser: with the bot's config, the CLI shows and asks the roster the bot pages from."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from bot.store import Store
    from bot.store.secretbox import SecretBox
    from rosters import Leave
    from tests.harness.botrunner import TEST_DATA_KEY, write_config

    config = write_config(tmp_path / "bot", "http://127.0.0.1:9", "unused", ["!p:localhost"], ["@polis1:localhost"])
    sthlm = ZoneInfo("Europe/Stockholm")
    store = Store(tmp_path / "bot" / "state" / "jourbot.db", SecretBox(TEST_DATA_KEY))
    day = datetime(2026, 6, 17, tzinfo=sthlm)
    store.leave.add(Leave("@bertil.b:localhost", day, datetime(2026, 6, 18, tzinfo=sthlm)), "@chef.c:localhost", day)
    store.close()
    span = ("--from", "2026-06-17", "--to", "2026-06-17")
    code, out, _ = run(capsys, "show", "--unit", "farsta", *span, "-c", str(config), "--json")
    primaries = [(s["user"], s.get("covers")) for s in json.loads(out) if s["role"] == "primary"]
    assert (code, primaries) == (0, [("@anna.a:localhost", "@bertil.b:localhost")])
    without = json.loads(run(capsys, "show", "--unit", "farsta", *span, "--rosters", str(EXAMPLES), "--json")[1])
    assert [s["user"] for s in without if s["role"] == "primary"] == ["@bertil.b:localhost"]

    code, out, _ = run(capsys, "who", "--area", "Farsta", "--at", "2026-06-17T10:00+02:00", "-c", str(config),
                       "--json")
    assert code == 0 and "@bertil.b:localhost" not in [step["user"] for step in json.loads(out)["chain"]]
