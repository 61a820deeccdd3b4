"""The police's case number in `!larm`, as the grammar in the README has it, and the police file whose numbers the
acceptor gets."""

from __future__ import annotations

import pytest

from bot.names import Names
from handlers.alarm import split_case_number
from rosters import RosterError, load_dir
from tests.harness.rosters import build_roster, write_roster


@pytest.mark.parametrize(("typed", "case", "rest"), [
    ("hnr 5000-K123456-26 två barn i lägenheten", "5000-K123456-26", "två barn i lägenheten"),
    ("HNR:5000-K123456-26 två barn", "5000-K123456-26", "två barn"),
    ("två barn, HNR: 5000-k123456-26. pappan hotfull", "5000-K123456-26", "två barn, pappan hotfull"),
    ("händelsenummer 5000-K12-26, två barn", "5000-K12-26", "två barn"),
    ("Hnr. 1234/26 två barn", "1234/26", "två barn"),
    ("två barn i lägenheten 5000-K123456-26", "5000-K123456-26", "två barn i lägenheten"),  # the police's own form
    ("5000-K123456-26", "5000-K123456-26", ""),
])
def test_a_case_number_is_read_after_its_marker_or_at_the_end_in_the_polices_form(typed, case, rest):
    assert split_case_number(typed) == (case, rest)


@pytest.mark.parametrize("typed", [
    "två barn", "", "hnr", "port 5000 två barn", "5000-K123456-26 två barn", "ring hnrx 12", "barn 2026-11-30",
])
def test_other_text_is_left_as_it_is(typed):
    assert split_case_number(typed) == (None, typed)


def test_officers_in_police_toml_have_names_and_phones_and_no_place_in_the_rosters(tmp_path):
    roster = build_roster(tmp_path, police_toml='[police]\n"@polis1:localhost" = { name = "Per Polis", phone ='
                                                ' "+46701740610" }\n"@polis2:localhost" = "Pia Polis"\n')
    assert roster.phone("@polis1:localhost") == "+46701740610" and roster.phone("@polis2:localhost") is None
    assert Names(lambda: roster).name("@polis2:localhost") == "Pia Polis"
    assert "@polis1:localhost" not in roster.people and "police" not in roster.units
    assert not roster.members() & {"@polis1:localhost", "@polis2:localhost"}


def test_a_bad_police_file_is_refused_with_its_entries_named(tmp_path):
    folder = write_roster(tmp_path, police_toml='[police]\n"polis1" = "Per"\n"@polis2:localhost" = { name = "Pia",'
                                                ' phone = "070-123 45 67" }\n')
    with pytest.raises(RosterError) as err:
        load_dir(folder)
    text = "\n".join(err.value.problems)
    assert "police.toml: officer polis1: not a Matrix user id" in text
    assert "police.toml: officer @polis2:localhost: phone '070-123 45 67' is not in E.164 form" in text
