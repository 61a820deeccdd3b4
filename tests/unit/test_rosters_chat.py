"""`!jour` and `!schema` replies, in Swedish and English."""

from __future__ import annotations

import re

import pytest

from bot.core.i18n import all_keys
from handlers.roster import jour_reply, schema_reply
from rosters import Override, load_dir
from tests.harness.rosters import EVA, EXAMPLES, at, utc

NOW = at("2026-06-17 10:05")  # a Wednesday, office hours


@pytest.fixture(scope="module")
def city():
    return load_dir(EXAMPLES)


def test_jour_for_an_area_now_lists_the_chain_in_order(city):
    reply = jour_reply(["farsta"], NOW, city, [], "sv")
    assert reply.splitlines() == [
        "Jour för Farsta ons 17/6 10:05: Farsta stadsdelsförvaltning, tel 08-508 000 10",
        "1. Primärjour: Bertil B",
        "2. Bakjour: Anna A",
        "3. Jourchef: Chef C",
    ]


def test_jour_shows_local_time_whatever_zone_the_clock_is_in(city):
    reply = jour_reply(["farsta"], utc("2026-06-17 08:05"), city, [], "sv")
    assert reply.startswith("Jour för Farsta ons 17/6 10:05: Farsta stadsdelsförvaltning")
    assert jour_reply(["farsta", "16:29"], utc("2026-06-17 08:05"), city, [], "sv").startswith(
        "Jour för Farsta ons 17/6 16:29: Farsta"
    )


def test_jour_in_english_with_a_time_and_a_multiword_alias(city):
    reply = jour_reply(["Farsta", "strand", "23:00"], NOW, city, [], "en")
    assert reply.splitlines()[0] == "On call for Farsta Wed 17/06, 23:00: Socialjouren, phone 08-508 000 00"
    assert "1. Primary: Anna A" in reply


def test_jour_without_area_answers_for_every_area(city):
    reply = jour_reply([], NOW, city, [], "sv")
    assert "Jour för Farsta" in reply and "Jour för Skärholmen" in reply
    assert "4. Hela enheten: Cecilia C" in reply  # Skärholmen's unit step: the member not yet paged


def test_jour_with_a_date_and_time_and_an_override(city):
    overrides = [Override(EVA, "Eva E", "socialjouren", "primary", at("2026-06-19 02:00"), at("2026-06-19 04:00"))]
    reply = jour_reply(["skarholmen", "2026-06-19", "03:00"], NOW, city, overrides, "sv")
    assert "fre 19/6 03:00: Socialjouren" in reply
    assert "1. Primärjour: Eva E" in reply


def test_jour_tells_about_a_gap(tmp_path):
    from tests.harness.rosters import NO_SUNDAY_NIGHT, build_roster

    roster = build_roster(tmp_path, jour_toml=NO_SUNDAY_NIGHT)
    assert "1. Primärjour: ⚠️ ingen — lucka i schemat" in jour_reply(
        ["centrum", "2026-06-22T03:00"], NOW, roster, [], "sv"
    )
    assert "1. Primary: ⚠️ nobody — a gap in the roster" in jour_reply(
        ["centrum", "2026-06-22T03:00"], NOW, roster, [], "en"
    )


@pytest.mark.parametrize(
    ("args", "lang", "expected"),
    [
        (["farsa"], "sv", "Okänt område: farsa. Menade du Farsta?"),
        (["Skarholm"], "en", "Unknown area: Skarholm. Did you mean Skärholmen?"),
        (["xyz"], "en", "Unknown area: xyz. Areas: Farsta and Skärholmen."),
        (["farsta", "halv", "tre"], "sv", "Jag kan inte läsa tiden halv tre."),
        (["farsta", "2026-03-29", "02:30"], "sv",
         "2026-03-29 02:30 finns inte den dagen: klockan ställs fram en timme på natten. Menade du 2026-03-29 03:30?"),
        (["farsta", "2026-10-25", "02:30"], "en", "2026-10-25 02:30 happens twice that night"),
    ],
)
def test_jour_explains_bad_input_in_one_line(city, args, lang, expected):
    reply = jour_reply(args, NOW, city, [], lang)
    assert reply.startswith(expected)
    assert "\n" not in reply


def test_schema_for_a_unit_today_marks_overrides(city):
    overrides = [Override(EVA, "Eva E", "socialjouren", "primary", at("2026-06-17 12:00"), at("2026-06-17 14:00"))]
    lines = schema_reply(["socialjouren"], NOW, city, overrides, "sv").text.splitlines()
    assert lines[0] == "Schema Socialjouren, ons 17 juni 2026"
    assert any(re.fullmatch(r"ons 17/6 12:00–14:00 · Primärjour · Eva E \(byte\)", line) for line in lines), lines
    assert any(re.fullmatch(r"ons 17/6 14:00–22:00 · Primärjour · Bertil B", line) for line in lines), lines
    assert any(re.fullmatch(r"ons 17/6 22:00 – tors 18/6 08:00 · Primärjour · Anna A", line) for line in lines), (
        lines
    )


def test_schema_week_in_english_and_a_date(city):
    week = schema_reply(["farsta", "week"], NOW, city, [], "en").text
    assert week.splitlines()[0] == "Roster Farsta stadsdelsförvaltning, 17\u2009–\u200923 Jun 2026"
    assert "Thu 18/06, 08:00–13:00" in week and "Fri 19/06" not in week  # early closing, midsommarafton
    midsummer = schema_reply(["farsta", "2026-06-19"], NOW, city, [], "sv").text
    assert midsummer.splitlines() == ["Schema Farsta stadsdelsförvaltning, fre 19 juni 2026", "inga pass"]


def test_schema_without_unit_shows_every_unit_and_refuses_nonsense(city):
    everything = schema_reply([], NOW, city, [], "sv").text
    assert everything.count("Schema ") == 3
    assert schema_reply(["nope"], NOW, city, [], "sv").text.startswith("Okänd enhet: nope. Enheter: Farsta")
    assert schema_reply(["farsta", "månad"], NOW, city, [], "en").text.startswith("!roster [unit]")


def test_schema_without_unit_shows_the_senders_own_units_and_not_the_shifts_that_have_ended(city):
    # A supervisor's first hour: `!schema` listed the ended shifts of every unit. Chef C supervises Farsta and
    # Socialjouren, not Skärholmen; at 10:05 the night that ended at 08:00 is over.
    mine = schema_reply([], NOW, city, [], "sv", user="@chef.c:localhost").text
    assert [line for line in mine.splitlines() if line.startswith("Schema ")] == [
        "Schema Farsta stadsdelsförvaltning, ons 17 juni 2026", "Schema Socialjouren, ons 17 juni 2026"]
    assert "tis 16/6" not in mine, "a shift that ended before now"
    assert "ons 17/6 08:00–22:00 · Primärjour · Bertil B" in mine.splitlines(), "a shift going on now"
    assert "– ons 17/6 08:00" not in mine


def test_schema_is_a_table_in_html_beside_the_plain_text(city):
    shown = schema_reply(["socialjouren"], NOW, city, [], "sv")
    assert shown.html is not None and shown.html.startswith("<p><strong>Schema Socialjouren, ons 17 juni 2026</strong>")
    assert "<th>Tid</th><th>Roll</th><th>Vem</th>" in shown.html
    rows = shown.html.count("<tr>") - 1
    assert rows == len(shown.text.splitlines()) - 1 and rows > 0
    assert "<td>Primärjour</td>" in shown.html and "  " not in shown.text, "no padding with spaces"


def test_every_roster_text_exists_in_both_languages_with_the_same_placeholders():
    texts = {k: v for k, v in all_keys().items() if k.startswith("roster.")}
    assert len(texts) > 15
    for key, (sv, en) in texts.items():
        assert sv and en and sv != en, key
        assert set(re.findall(r"{(\w+)}", sv)) == set(re.findall(r"{(\w+)}", en)), key


def test_schema_and_jour_show_leave_and_an_override_written_in_the_files():
    # The examples: David D is away 5-25 July 2027, so Cecilia C takes his turns at Skärholmen; Anna A and Bertil
    # B swap the night of 19 February 2027 in socialjouren.toml.
    city = load_dir(EXAMPLES)
    summer = schema_reply(["skarholmen", "2027-07-06"], at("2027-07-06 09:00"), city, [], "sv").text.splitlines()
    assert any(re.fullmatch(r"tis 6/7 08:00–16:30 · Primärjour · Cecilia C \(för David D, ledig\)", line)
               for line in summer), summer
    swap = schema_reply(["socialjouren", "2027-02-19"], at("2027-02-19 09:00"), city, [], "en").text.splitlines()
    assert any(re.fullmatch(r"Fri 19/02, 22:00 – Sat 20/02, 08:00 · Primary · Anna A \(override\)", line)
               for line in swap), swap
    night = jour_reply(["farsta", "2027-02-19", "23:00"], at("2027-02-19 09:00"), city, [], "sv").splitlines()
    assert night[1:3] == ["1. Primärjour: Anna A", "2. Bakjour: Bertil B"]
