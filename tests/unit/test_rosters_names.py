"""Names as people type them: one folding, one Matrix id grammar and one table of role words for all of jourbot."""

from __future__ import annotations

import pytest

from rosters import RosterError, load_dir
from rosters.names import MATRIX_USER_ID, fold, is_matrix_user_id, normalize, role_word
from tests.harness.rosters import PEOPLE, write_roster


@pytest.mark.parametrize(
    "typed", ["Skärholmen", "SKARHOLMEN", "skärholmen", "ｓｋäｒｈｏｌｍｅｎ", "ＳＫÄＲＨＯＬＭＥＮ"]
)
def test_fold_ignores_case_diacritics_and_width(typed):
    assert fold(typed) == fold("skarholmen") == "skarholmen"


def test_fold_keeps_punctuation_and_normalize_drops_it():
    assert fold("Farsta-Strand") == "farsta-strand"
    assert normalize("  Farsta--STRÄND ") == normalize("farsta strand") == "farsta strand"
    assert normalize("Ｆａｒｓｔａ　ｓｔｒａｎｄ") == "farsta strand"  # full-width letters and space


@pytest.mark.parametrize(
    "user",
    [
        "@anna.a:localhost",
        "@anna.a:example.org",
        "@anna.a:example.org:8448",
        "@anna.a:192.168.1.10:8008",
        "@anna.a:[::1]",
        "@anna.a:[2001:db8::1]:8448",
        "@a=b/c+d_e-f:matrix-1.example.org",
    ],
)
def test_matrix_user_ids_that_a_homeserver_issues_are_accepted(user):
    assert is_matrix_user_id(user)
    assert MATRIX_USER_ID.match(user)


@pytest.mark.parametrize(
    "user",
    [
        "@Anna.A:localhost",  # uppercase localpart
        "@anna.a",  # no server
        "@anna.a:",  # empty server
        "anna.a:localhost",  # no @
        "@:localhost",  # empty localpart
        "@anna a:localhost",  # space
        "@anna.a:local_host",  # underscore is not allowed in a DNS name
        "@anna.a:localhost:",  # empty port
        "@anna.a:localhost:123456",  # port longer than five digits
        "@anna.a:localhost:８４４８",  # full-width digits in the port
        "@anna.a:[::1",  # unclosed IPv6 literal
        "@anna.a:[fe80::1%eth0]",  # zone id in the IPv6 literal
        "@anna.a:localhost\n",  # trailing newline
        "@anna.ä:localhost",  # non-ASCII localpart
        "@" + "a" * 245 + ":localhost",  # 256 characters: over the 255-byte limit
    ],
)
def test_malformed_matrix_user_ids_are_refused(user):
    assert not is_matrix_user_id(user)


def test_the_longest_matrix_user_id_is_accepted():
    assert is_matrix_user_id("@" + "a" * 244 + ":localhost")  # 255 characters


@pytest.mark.parametrize(
    ("word", "role"),
    [
        ("primary", "primary"),
        ("Primär", "primary"),
        ("PRIMAR", "primary"),
        ("sekundär", "secondary"),
        ("Secondary", "secondary"),
        ("jourchef", "supervisor"),
        ("chef", "supervisor"),
        (" Supervisor ", "supervisor"),
    ],
)
def test_role_words_in_swedish_and_english(word, role):
    assert role_word(word) == role


@pytest.mark.parametrize("word", ["boss", "", "prim", "unit", "primär chef"])
def test_other_words_name_no_role(word):
    assert role_word(word) is None


def test_people_toml_is_checked_with_the_same_grammar(tmp_path):
    extra = '"@frida.f:[2001:db8::1]:8448" = "Frida F"\n"@Gustav:example.org" = "Gustav G"\n'
    with pytest.raises(RosterError) as caught:
        load_dir(write_roster(tmp_path, people_toml=PEOPLE + extra))
    assert caught.value.problems == [
        "people.toml: person @Gustav:example.org: not a Matrix user id like @anna.a:example.org"
    ]
    roster = load_dir(write_roster(tmp_path, people_toml=PEOPLE + extra.splitlines()[0]))
    assert roster.people["@frida.f:[2001:db8::1]:8448"] == "Frida F"
