"""The texts: every key in both languages, the same placeholders, none asked for that does not exist, none unused;
texts that count as gettext plural entries with every form in both languages; lists, numbers, spans of time and dates
worded by Babel as each language writes them."""

from __future__ import annotations

import ast
import re
import string
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.core.i18n import (
    all_keys,
    all_plural_keys,
    catalogue,
    day,
    day_month,
    day_range,
    duration,
    either,
    listing,
    long_day,
    moment,
    number,
    percent,
    plural_catalogue,
    plural_forms,
    t,
    tn,
)

ROOT = Path(__file__).resolve().parents[2]
KEY = re.compile(r"^(alarm|alarmcmd|runtime|registry|roster|override|stats|help|count"
                 r"|handover|webview|trust)\.[a-z_.]*[a-z_]$")
# The browser view's templates ask for texts as t("key", ...), and for those that count as tn("key", n, ...).
TEMPLATE_KEY = re.compile(r"\b(tn?)\(\"([a-z_.]+)\"")
# Keys the code builds at run time, and the parts they are built from.
DYNAMIC = {
    "roster.role.": ("primary", "secondary", "supervisor", "unit"),
    "alarm.reason.": ("too_large", "forbidden", "unknown_user", "no_trusted_device", "identity_changed", "room_gone",
                      "rejected", "timeout"),
    "handover.decision.": ("safety_plan", "relative", "emergency_placement", "other"),
    "webview.check.kind.": ("step", "overlap", "rest"),
    "webview.status.": ("open", "exhausted", "accepted", "closed", "cancelled"),
    "webview.event.": ("raised", "escalated", "exhausted", "accepted", "declined", "delivered", "unreachable",
                       "closed", "cancelled", "room_opened", "phase_en_route", "phase_arrived", "phase_assessment",
                       "phase_assessment_not", "phase_handed_over", "handover_listed", "handover_reminded",
                       "handover_received", "seen", "sms_sent"),
}


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _python_trees() -> list[ast.Module]:
    return [ast.parse(path.read_text(encoding="utf-8")) for package in ("bot", "handlers")
            for path in (ROOT / package).rglob("*.py")]


def _template_calls() -> list[tuple[str, str]]:
    return [(func, key) for path in (ROOT / "bot" / "web" / "templates").glob("*.html")
            for func, key in TEMPLATE_KEY.findall(path.read_text(encoding="utf-8")) if not key.endswith(".")]


def literals_in_code() -> set[str]:
    found: set[str] = set()
    for tree in _python_trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and KEY.match(node.value):
                found.add(node.value)
    found.update(key for _, key in _template_calls())
    return found


def calls_in_code() -> set[tuple[str, str]]:
    """(t or tn, key) for every call that names its key as a literal, in the code and the templates."""
    found: set[tuple[str, str]] = set(_template_calls())
    for tree in _python_trees():
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("t", "tn")
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                found.add((node.func.id, node.args[0].value))
    return found


def test_every_text_exists_in_both_languages_with_the_same_placeholders():
    for key, (sv, en) in all_keys().items():
        assert sv.strip() and en.strip(), f"{key} lacks a language"
        assert placeholders(sv) == placeholders(en), key


def test_every_text_that_counts_has_each_form_in_both_languages_with_the_same_placeholders():
    plurals = all_plural_keys()
    assert len(plurals) >= 15
    for key, (sv, en) in plurals.items():
        assert len(sv) == len(en) == 2, f"{key}: both forms (one, other) in both languages"
        assert all(form.strip() for form in sv + en), f"{key} lacks a form"
        assert {frozenset(placeholders(form)) for form in sv + en} == {frozenset(placeholders(sv[1]))}, key
        assert "n" in placeholders(sv[0]), f"{key}: the count is {{n}}, written by tn as the language writes numbers"
    assert not set(plurals) & set(all_keys()), "a key is either a text or a text that counts, not both"


def test_both_catalogues_say_how_a_count_chooses_its_form():
    for lang in ("sv", "en"):
        assert plural_forms(lang) == "nplurals=2; plural=(n != 1);"


def test_texts_that_count_are_asked_for_with_tn_and_the_others_with_t():
    plurals, singles = set(plural_catalogue("sv")), set(catalogue("sv"))
    calls = calls_in_code()
    assert {key for func, key in calls if func == "t"} & plurals == set(), "a text that counts, asked for with t()"
    assert {key for func, key in calls if func == "tn"} - plurals == set(), "tn() for a text that does not count"
    assert {key for func, key in calls if func == "t"} - singles == set()


def test_the_code_asks_only_for_texts_that_exist_and_every_text_is_used():
    keys = set(all_keys()) | set(all_plural_keys())
    used = literals_in_code() | {prefix + part for prefix, parts in DYNAMIC.items() for part in parts}
    assert used - keys == set(), "asked for but missing from the .po files"
    assert keys - used == set(), "in the .po files but never used"


def test_both_catalogues_are_complete():
    sv, en = catalogue("sv"), catalogue("en")
    assert len(sv) > 100, "the Swedish catalogue was read"
    assert set(sv) == set(en), f"only in one language: {sorted(set(sv) ^ set(en))}"
    plural_sv, plural_en = plural_catalogue("sv"), plural_catalogue("en")
    assert plural_sv, "the Swedish plurals were read"
    assert set(plural_sv) == set(plural_en), f"only in one language: {sorted(set(plural_sv) ^ set(plural_en))}"


def test_a_count_takes_the_form_its_number_calls_for():
    # "1 luckor" and "eskalerat 1 gånger" were wrong; 0 takes the plural in both languages.
    assert tn("webview.check.gaps", 1, "sv", days=14) == "1 lucka de närmaste 14 dagarna: då finns ingen primär."
    assert tn("webview.check.gaps", 3, "sv", days=14).startswith("3 luckor ")
    assert tn("webview.check.gaps", 1, "en", days=14).startswith("1 gap in ")
    assert [tn("webview.alarm.escalations", n, "sv") for n in (0, 1, 2)] == [
        "eskalerat 0 gånger", "eskalerat 1 gång", "eskalerat 2 gånger"]
    assert [tn("webview.alarm.escalations", n, "en") for n in (1, 2)] == ["escalated 1 time", "escalated 2 times"]
    assert tn("count.alarms", 1, "en") == "1 alarm" and tn("count.alarms", 1, "sv") == "1 larm"
    assert tn("stats.accepted", 1, "sv") == "1 accepterat" and tn("stats.accepted", 2, "sv") == "2 accepterade"
    assert tn("count.people", 1, "en") == "1 person" and tn("count.people", 12, "en") == "12 people"
    assert tn("roster.ready.all_ok", 1, "sv", first="ons 25/11", last="tis 1/12") == (
        "Beredskap ons 25/11 – tis 1/12: 1 person på schemat, och hen kan nås.")
    assert tn("roster.reload.refused", 1, "en", folder="rosters", problems="• x").endswith("(1 problem):\n• x")


def test_a_count_is_written_as_the_language_writes_numbers():
    assert tn("count.alarms", 1234, "sv") == "1\u00a0234 larm"  # a no-break space between the groups
    assert tn("count.alarms", 1234, "en") == "1,234 alarms"
    assert number(1234567, "sv") == "1\u00a0234\u00a0567" and number(12, "sv") == "12"
    assert percent(0.456, "sv") == "46\u00a0%" and percent(0.5, "en") == "50%"


def test_a_text_that_counts_is_not_a_text_and_a_missing_key_fails_loudly():
    with pytest.raises(KeyError):
        t("webview.check.gaps", "sv")
    with pytest.raises(KeyError):
        tn("webview.nav.mine", 2, "sv")
    with pytest.raises(KeyError):
        tn("no.such.key", 2, "en")


def test_durations_read_as_people_say_them():
    assert duration(1, "sv") == "1 sekund" and duration(30, "sv") == "30 sekunder"
    assert duration(119, "sv") == "119 sekunder" and duration(120, "sv") == "2 minuter"
    assert duration(900, "sv") == "15 minuter" and duration(60 * 60 * 3, "en") == "3 hours"
    assert duration(60, "en") == "60 seconds" and duration(3600, "sv") == "60 minuter"
    assert duration(2 * 86400, "sv") == "2 dygn" and duration(2 * 86400, "en") == "2 days"
    assert duration(-5, "en") == "0 seconds"


def test_lists_say_and_or_or_as_the_sentence_means():
    assert listing(["Farsta", "Skärholmen", "Tomby"], "sv") == "Farsta, Skärholmen och Tomby"
    assert listing(["Anna A", "Bo B"], "sv") == "Anna A och Bo B"
    assert listing(["Anna A", "Bo B", "Chef C"], "en") == "Anna A, Bo B and Chef C"  # British: no serial comma
    assert listing(["Anna A"], "sv") == "Anna A" and listing([], "sv") == ""
    assert either(["Farsta", "Skärholmen", "Tomby"], "sv") == "Farsta, Skärholmen eller Tomby"
    assert either(["Farsta", "Fagersjö"], "en") == "Farsta or Fagersjö"
    assert either(["Farsta"], "en") == "Farsta"


def test_dates_are_written_as_each_language_writes_them():
    stockholm = ZoneInfo("Europe/Stockholm")
    evening = datetime(2026, 6, 17, 22, 5, tzinfo=stockholm)
    assert day(date(2026, 6, 17), "sv") == "ons 17/6" and day(date(2026, 6, 17), "en") == "Wed 17/06"
    assert day_month(date(2026, 6, 7), "sv") == "7/6" and day_month(date(2026, 6, 7), "en") == "07/06"
    assert long_day(date(2026, 6, 17), "sv") == "ons 17 juni 2026"
    assert day_range(date(2026, 6, 17), date(2026, 6, 23), "sv") == "17–23 juni 2026"
    assert day_range(date(2026, 12, 28), date(2027, 1, 3), "en") == "28 Dec 2026\u2009–\u20093 Jan 2027"  # thin spaces
    assert moment(evening, "sv") == "ons 17/6 22:05" and moment(evening, "en") == "Wed 17/06, 22:05"
    assert moment(evening, "sv", weekday=False) == "17/6 22:05"
    assert moment(evening, "sv", year=True) == "2026-06-17 22:05"
    assert moment(evening, "en", year=True) == "17/06/2026, 22:05"  # the 24-hour clock: British English
    # In the instant's own zone, not the machine's or UTC.
    assert moment(evening.astimezone(ZoneInfo("UTC")).astimezone(stockholm), "sv") == "ons 17/6 22:05"
