"""The phase commands' words: minutes, the assessment and its decision, the receiving unit, what !klar finds missing."""

from __future__ import annotations

import pytest

from handlers import build_registry
from handlers.alarm import AlarmLimits
from handlers.phases import (
    PHASES,
    find_unit,
    missing_phases,
    parse_assessment,
    parse_minutes,
    phase_names,
)
from rosters import load_dir
from tests.harness.component import ROSTERS


@pytest.mark.parametrize(("words", "expected"), [
    ((), None), (("20",), 20), (("20", "min"), 20), (("20min",), 20), (("5", "minuter"), 5), (("600",), 600),
    (("0",), "bad"), (("601",), "bad"), (("snart",), "bad"), (("20", "eller", "30"), "bad"), (("-5",), "bad"),
])
def test_minutes_are_a_whole_number_from_1_to_600(words, expected):
    assert parse_minutes(words) == expected


@pytest.mark.parametrize(("words", "expected"), [
    (("gjord",), (True, None)), (("GJORD", "Anhörig"), (True, "relative")), (("ej",), (False, None)),
    (("gjord", "plan"), (True, "safety_plan")), (("gjord", "placering"), (True, "emergency_placement")),
    (("done", "placement"), (True, "emergency_placement")), (("not",), (False, None)),
    (("gjord", "annat"), (True, "other")), (("ej", "hemma"), (False, "safety_plan")),
    ((), None), (("kanske",), None), (("gjord", "mormor"), None), (("gjord", "hos", "mormor"), None),
])
def test_the_assessment_is_made_or_not_with_a_decision_from_the_fixed_list(words, expected):
    assert parse_assessment(words) == expected


def test_a_handover_names_a_unit_by_name_or_id_or_an_area_for_its_unit():
    roster = load_dir(ROSTERS)
    assert find_unit(roster, "Tomjouren") == "tomjour" and find_unit(roster, "testjour") == "testjour"
    assert find_unit(roster, "farsta strand") == "testjour"  # the area's unit (an office unit where it has one)
    assert find_unit(roster, "Mars") is None


def test_missing_phases_in_order_and_named_for_people():
    assert missing_phases(["arrived"]) == ["en_route", "assessment", "handed_over"]
    assert missing_phases(list(PHASES)) == []
    assert phase_names(["en_route", "handed_over"], "sv") == "på väg och överlämnat"
    assert phase_names(["assessment"], "en") == "protection assessment"


def test_every_phase_command_has_its_english_alias_and_plain_letter_spelling():
    registry = build_registry(AlarmLimits(5, 600))
    for swedish, others in (("påväg", ("enroute", "pavag", "PÅVÄG")), ("framme", ("arrived",)),
                            ("skydd", ("protection", "assessment")), ("överlämnad", ("handedover", "overlamnad")),
                            ("anslut", ("join",)), ("till", ("relay",))):
        spec = registry.find(swedish)
        assert spec is not None and all(registry.find(word) is spec for word in others), swedish
