"""The alarm texts: both languages, same placeholders, and a page a responder can act on half asleep."""

from __future__ import annotations

import string
from datetime import UTC, datetime

import pytest

from bot.alarm.machine import Notify, Page, on_accept
from bot.alarm.texts import page_text, render
from bot.core.i18n import all_keys
from handlers.alarm import Ambiguous, pick_refusal
from tests.harness.alarms import ANNA, BO, CHEF, at, chain, raised, step


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("key", sorted(k for k in all_keys() if k.startswith("alarm.")))
def test_every_alarm_string_has_sv_and_en_with_the_same_placeholders(key):
    sv, en = all_keys()[key]
    assert key.startswith("alarm.")
    assert sv.strip() and en.strip() and sv != en
    assert placeholders(sv) == placeholders(en)


def test_page_has_area_local_time_details_and_how_to_answer():
    alarm = raised().alarm
    text = page_text(alarm, "sv", "Två barn i lägenheten, pappan gripen")
    assert "Farsta" in text and "14:02" in text
    assert "Två barn i lägenheten, pappan gripen" in text
    assert "!ok L42" in text and "✅" in text and "ok" in text.split("!ok L42", 1)[1]
    assert "!nej L42 [orsak]" in text
    en = page_text(alarm, "en", "Two children")
    assert "Two children" in en and "!ok L42" in en and "!nej L42 [reason]" in en and "✅" in en


def test_page_without_details_says_so_rather_than_showing_a_blank_line():
    assert "(ingen fritext från polisen)" in page_text(raised().alarm, "sv", "  ")


def test_details_with_braces_are_shown_as_typed():
    assert "{namn} {0}" in page_text(raised().alarm, "sv", "{namn} {0}")


def test_page_shows_stockholm_time_even_when_the_clock_is_utc_in_summer():
    summer = datetime(2025, 7, 1, 22, 15, tzinfo=UTC)  # 00:15 next day, CEST
    alarm = raised(chain(step("primary", ANNA), at=summer), now=summer).alarm
    assert "00:15" in page_text(alarm, "sv", "x")


def test_english_police_confirmation():
    o = on_accept(raised().alarm, ANNA.user, at(1), is_supervisor=False)
    police = next(e for e in o.effects if isinstance(e, Notify) and e.to_room)
    assert render(police, "en") == "✅ L42 accepted by Anna A (Socialjouren) 14:03 — phone 08-600 00 00"


def test_gap_notice_names_the_roles_in_the_readers_language():
    o = raised(chain(step("primary"), step("secondary"), step("unit", BO)))
    gap = next(e for e in o.effects if isinstance(e, Notify) and e.key == "alarm.gap")
    assert gap.to_user == CHEF
    assert "(primary and secondary)" in render(gap, "en")
    assert "(primärjour och bakjour)" in render(gap, "sv")


def test_render_refuses_a_page_because_only_the_runtime_has_the_details():
    with pytest.raises(TypeError):
        render(Page("L42", ANNA.user, "Anna A", 0), "sv")  # type: ignore[arg-type]


def test_pick_refusals_tell_the_user_what_to_type():
    first = raised(number=1).alarm
    second = raised(number=2).alarm
    assert pick_refusal(Ambiguous((first, second)), "sv", "!nej") == (
        "Du har flera öppna larm (L1 och L2). Ange vilket, t.ex. !nej L1."
    )
    assert pick_refusal(None, "en") == "You have no open alarm to answer. Give the id, e.g. !ok L42."
