"""Readiness, the pure part: who is on the coming week's rosters, and which problems each has under which trust."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.matrix.reachability import Reach
from bot.readiness.assess import as_json, assess, on_rosters, report_text
from bot.store.checkins import CheckinRow
from rosters import Override, load_dir

ROSTERS = Path(__file__).resolve().parents[1] / "integration" / "rosters"  # Anna, Bertil, Chef round the clock
ANNA, BERTIL, CHEF = "@anna.a:localhost", "@bertil.b:localhost", "@chef.c:localhost"
NOW = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)
ZONE = ZoneInfo("Europe/Stockholm")
FINE = Reach(account=True, devices=1, cross_signed=1, membership="join")
ROOMS = {ANNA: "!a", BERTIL: "!b", CHEF: "!c"}


def kinds(findings, user):
    return [p.kind for f in findings if f.person.user == user for p in f.problems]


def test_everyone_on_the_week_and_the_supervisors_in_order_of_their_first_shift():
    roster = load_dir(ROSTERS)
    people = on_rosters(roster, [], NOW, 7)
    assert {p.user for p in people} == {ANNA, BERTIL, CHEF}
    starts = [p.first.start.timestamp() for p in people if p.first]
    assert starts == sorted(starts)


def test_someone_only_on_an_override_is_on_the_roster_too():
    roster = load_dir(ROSTERS)
    stand_in = Override("@doris.d:localhost", "Doris D", "testjour", "primary",
                        datetime(2026, 11, 28, 21, 0, tzinfo=UTC), datetime(2026, 11, 29, 7, 0, tzinfo=UTC))
    people = on_rosters(roster, [stand_in], NOW, 7)
    assert "@doris.d:localhost" in {p.user for p in people}
    assert "@doris.d:localhost" not in {p.user for p in on_rosters(roster, [stand_in], NOW, 2)}


def test_an_unverified_phone_matters_only_under_cross_signed_trust():
    people = on_rosters(load_dir(ROSTERS), [], NOW, 7)
    facts = {ANNA: Reach(True, devices=1, cross_signed=0, membership="join"), BERTIL: FINE, CHEF: FINE}
    assert kinds(assess(people, facts, ROOMS, {}, "tofu", "sv", ZONE), ANNA) == []
    assert kinds(assess(people, facts, ROOMS, {}, "cross-signed", "sv", ZONE), ANNA) == ["no_verified_device"]


def test_each_problem_is_named_with_what_to_do():
    people = on_rosters(load_dir(ROSTERS), [], NOW, 7)
    facts = {ANNA: Reach(account=False), BERTIL: Reach(True, devices=0, membership="invite"), CHEF: Reach(None)}
    findings = assess(people, facts, ROOMS, {}, "tofu", "en", ZONE)
    assert kinds(findings, ANNA) == ["no_account"]  # nothing else can be right for an account that is not there
    assert kinds(findings, BERTIL) == ["no_device", "invited"]
    assert kinds(findings, CHEF) == ["unknown"]
    bertil = next(f for f in findings if f.person.user == BERTIL)
    assert [p.action for p in bertil.problems] == [
        "Ask them to log in to Element on the duty phone and allow notifications",
        "Ask them to accept the bot's invitation in Element",
    ]
    assert as_json(findings, NOW, 7)["ok"] is False


def test_an_unanswered_last_check_in_and_a_missing_direct_room_are_problems_an_answered_one_is_not():
    people = on_rosters(load_dir(ROSTERS), [], NOW, 7)
    asked = datetime(2026, 11, 24, 21, 0, tzinfo=UTC).timestamp()
    row = CheckinRow("testjour:primary:1", "testjour", "primary", asked, asked + 36000, ANNA, "unanswered",
                     None, asked, asked + 1800, None, asked + 1800, None)
    answered = CheckinRow(*[*row.__dict__.values()][:6], "answered", None, asked, asked + 1800, asked + 60, None,
                          None)
    facts = {ANNA: FINE, BERTIL: FINE, CHEF: FINE}
    rooms = {ANNA: "!a", CHEF: "!c"}
    findings = assess(people, facts, rooms, {ANNA: row, CHEF: answered}, "tofu", "sv", ZONE)
    anna = next(f for f in findings if f.person.user == ANNA)
    assert [p.text for p in anna.problems] == ["Svarade inte på incheckningen tis 24/11 22:00"]
    assert kinds(findings, BERTIL) == ["no_direct_room"]
    assert kinds(findings, CHEF) == []
    text = report_text(findings, load_dir(ROSTERS), NOW, 7, "sv")
    assert text.startswith("Beredskap ons 25/11 – tis 1/12: 2 av 3 på schemat kan inte säkert nås.")
    assert "Chef C" not in text


def test_all_well_is_said_in_one_line():
    people = on_rosters(load_dir(ROSTERS), [], NOW, 7)
    findings = assess(people, {ANNA: FINE, BERTIL: FINE, CHEF: FINE}, ROOMS, {}, "cross-signed", "en", ZONE)
    assert report_text(findings, load_dir(ROSTERS), NOW, 7, "en") == (
        "Readiness Wed 25/11 – Tue 01/12: all 3 on the rosters can be reached.")


def test_with_sms_on_someone_without_a_phone_number_is_named_and_without_it_nobody_is():
    people = on_rosters(load_dir(ROSTERS), [], NOW, 7)
    facts = {ANNA: FINE, BERTIL: FINE, CHEF: FINE}
    numbers = {ANNA: "+46701740601", BERTIL: None, CHEF: "+46701740603"}
    with_sms = assess(people, facts, ROOMS, {}, "tofu", "sv", ZONE, numbers.get)
    assert [(f.person.user, kinds([f], f.person.user)) for f in with_sms if f.problems] == [(BERTIL, ["no_phone"])]
    (problem,) = [p for f in with_sms for p in f.problems]
    assert problem.text == "Inget mobilnummer för SMS" and "people.toml" in problem.action
    assert all(not f.problems for f in assess(people, facts, ROOMS, {}, "tofu", "sv", ZONE))
