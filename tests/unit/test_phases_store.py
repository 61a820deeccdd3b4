"""The phase store: one row per alarm and phase, a repeat replaces it, read back in phase order, purged with its
alarm; the alarm room's id is kept while it is open and found again from the room."""

from __future__ import annotations

import pytest

from bot.store import Store
from bot.store.alarms import AlarmRow
from bot.store.phases import PhaseRecord
from bot.store.retention import DAY
from bot.store.secretbox import SecretBox

T0 = 1_790_000_000.0


@pytest.fixture
def store(tmp_path, database):
    clock = [T0]
    s = Store(tmp_path / "db", SecretBox("k"), clock=lambda: clock[0], database=database)
    s.test_clock = clock  # type: ignore[attr-defined]
    yield s
    s.close()


def test_phases_come_back_in_phase_order_whatever_order_they_were_recorded(store):
    with store.transaction():
        store.phases.record(PhaseRecord("L1", "assessment", T0 + 300, "@anna:x", assessment_made=True,
                                        decision="relative"))
        store.phases.record(PhaseRecord("L1", "en_route", T0 + 100, "@anna:x", eta_minutes=20))
        store.phases.record(PhaseRecord("L1", "arrived", T0 + 200, "@anna:x"))
        store.phases.record(PhaseRecord("L2", "en_route", T0 + 150, "@bo:x"))

    got = store.phases.of("L1")

    assert [p.phase for p in got] == ["en_route", "arrived", "assessment"]
    assert got[0] == PhaseRecord("L1", "en_route", T0 + 100, "@anna:x", eta_minutes=20)
    assert got[2].assessment_made is True and got[2].decision == "relative"
    assert store.phases.of("L3") == []


def test_recording_a_phase_again_replaces_it(store):
    store.phases.record(PhaseRecord("L1", "en_route", T0, "@anna:x", eta_minutes=20))
    store.phases.record(PhaseRecord("L1", "en_route", T0 + 60, "@sara:x", eta_minutes=35))

    assert store.phases.of("L1") == [PhaseRecord("L1", "en_route", T0 + 60, "@sara:x", eta_minutes=35)]


def test_between_selects_by_time_half_open(store):
    store.phases.record(PhaseRecord("L1", "arrived", T0, "@a:x"))
    store.phases.record(PhaseRecord("L2", "handed_over", T0 + 10, "@a:x", unit="farsta"))
    store.phases.record(PhaseRecord("L3", "arrived", T0 + 20, "@a:x"))
    store.phases.record(PhaseRecord("L4", "assessment", T0 + 5, "@a:x", assessment_made=False))

    got = store.phases.between(T0, T0 + 20)

    assert [(p.alarm_id, p.phase) for p in got] == [("L1", "arrived"), ("L4", "assessment"), ("L2", "handed_over")]
    assert got[1].assessment_made is False and got[2].unit == "farsta"


def test_an_unknown_phase_or_decision_is_refused_and_nothing_stored(store):
    with pytest.raises(ValueError):
        store.phases.record(PhaseRecord("L1", "coffee", T0, "@a:x"))
    with pytest.raises(ValueError):
        store.phases.record(PhaseRecord("L1", "assessment", T0, "@a:x", assessment_made=True, decision="whatever"))
    assert store.phases.of("L1") == []


def test_phases_and_alarm_room_are_purged_with_their_alarm_only(store):
    clock = store.test_clock
    with store.transaction():
        for alarm_id, status in (("L1", "closed"), ("L2", "open")):
            store.alarms.insert(AlarmRow(alarm_id, int(alarm_id[1:]), status, "farsta", "jour", "@p:x", clock[0],
                                         "!police", {"v": 2}), "")
            store.phases.record(PhaseRecord(alarm_id, "arrived", clock[0], "@a:x"))
            store.alarm_rooms.set(alarm_id, f"!room{alarm_id}:x")
    clock[0] += 400 * DAY

    counts = store.retention.purge(clock[0], 365)

    assert counts["alarm_phases"] == 1 and counts["alarm_rooms"] == 1
    assert store.phases.of("L1") == [] and len(store.phases.of("L2")) == 1
    assert store.alarm_rooms.alarm_of("!roomL1:x") is None and store.alarm_rooms.alarm_of("!roomL2:x") == "L2"


def test_an_alarm_room_is_open_until_closed_and_still_found_after(store):
    store.alarm_rooms.set("L1", "!a:x")

    assert store.alarm_rooms.room_of("L1") == "!a:x"
    store.alarm_rooms.close("L1")

    assert store.alarm_rooms.room_of("L1") is None
    assert store.alarm_rooms.alarm_of("!a:x") == "L1"
