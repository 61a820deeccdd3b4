"""The statements each dialect spells its own way, run in both (the `database` fixture): a second write to the same
key replaces the row or is ignored as the repository says, lists passed as JSON are unnested, NULL parameters and
reserved words work, and rows come back in the same order."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from bot.store import Store
from bot.store.alarms import AlarmRow
from bot.store.handovers import HandoverRow, Opening
from bot.store.outbox import NewMessage
from bot.store.page_watch import WatchedPage
from bot.store.roster_snapshots import RosterSnapshot
from bot.store.secretbox import SecretBox
from bot.store.sync import Head
from rosters import Leave, Override

T0 = 1_790_000_000.0
NOW = datetime.fromtimestamp(T0, UTC)


@pytest.fixture
def store(tmp_path, database):
    clock = [T0]
    s = Store(tmp_path / "state" / "jourbot.db", SecretBox("k"), clock=lambda: clock[0], database=database)
    yield s
    s.close()


def alarm(number: int, status: str) -> AlarmRow:
    return AlarmRow(f"L{number}", number, status, "farsta", "jour", "@p:x", T0 + number, "!r", {"n": number})


def test_upserts_replace_the_row_of_the_same_key(store):
    with store.transaction():
        store.meta.set("k", "one")
        store.meta.set("k", "two")
        assert store.meta.set_once("k", "three") is False and store.meta.set_once("other", "x") is True
        store.deadlines.set("L1", T0 + 60)
        store.deadlines.set("L1", T0 + 120)
        store.direct_rooms.set("@a:x", "!old")
        store.direct_rooms.set("@a:x", "!new")
        store.alarm_rooms.set("L1", "!room")
        store.alarm_rooms.close("L1")
        store.alarm_rooms.set("L1", "!again")
        store.handovers.set_opening(Opening("farsta", T0 + 3600, T0))
        store.handovers.set_opening(Opening("farsta", T0 + 7200, T0 + 3600))
        store.identities.pin("@a:x", "key1", T0)
        store.identities.mark_changed("@a:x", "key2", T0 + 1)
        store.identities.pin("@a:x", "key2", T0 + 2)  # a supervisor confirmed the new identity
        store.sync.save("s1", {"!r": Head("$1", 1)})
        store.sync.save("s2", {"!r": Head("$2", 2), "!q": Head("$3", 3)})
        store.roster_snapshots.save(RosterSnapshot("d1", T0, "/r", {"a.toml": b"1"}))
        store.roster_snapshots.save(RosterSnapshot("d2", T0 + 1, "/r", {"b.toml": b"2"}))
    assert store.meta.get("k") == "two" and store.meta.get("other") == "x"
    assert store.deadlines.get("L1") == T0 + 120 and store.deadlines.count() == 1
    assert store.direct_rooms.all() == {"@a:x": "!new"}
    assert store.alarm_rooms.state("L1") == ("!again", True)
    assert store.handovers.opening("farsta") == Opening("farsta", T0 + 7200, T0 + 3600)
    pin = store.identities.get("@a:x")
    assert pin is not None and (pin.master_key, pin.seen_key, pin.changed_at) == ("key2", None, None)
    assert store.sync.token() == "s2" and store.sync.heads() == {"!r": Head("$2", 2), "!q": Head("$3", 3)}
    last = store.roster_snapshots.last()
    assert last is not None and (last.digest, last.files) == ("d2", {"b.toml": b"2"})


def test_a_second_insert_of_the_same_key_is_ignored_and_says_so(store):
    page = WatchedPage("$page", "L1", "@a:x", "!dm", T0)
    sms = NewMessage("sms", "@a:x", {"phone": "+46700000000", "text": "Larm L1", "why": "unseen"}, "alarm:L1", 1,
                     T0 + 900, "sms")
    with store.transaction():
        assert store.outbox.add_once(sms, "sms:page:L1:@a:x") and not store.outbox.add_once(sms, "sms:page:L1:@a:x")
        assert store.checkins.plan("c1", "jour", "primary", T0, T0 + 3600)
        assert not store.checkins.plan("c1", "jour", "primary", T0, T0 + 3600)
        assert store.identities.note_devices("@a:x", ["D1"], T0) == []  # the first sight is the baseline
        assert store.identities.note_devices("@a:x", ["D1", "D2"], T0 + 1) == ["D2"]
        store.identities.admit("!r", "@chef:x", T0)
        store.identities.admit("!r", "@chef:x", T0 + 1)
        store.page_watch.delivered(page, T0 + 300)
        store.page_watch.delivered(page, T0 + 900)
        store.alarms.remember_page("$page", "L1", "@a:x")
        store.alarms.remember_page("$page", "L2", "@b:x")
        store.area_months.keep("*", "2026-10", {"alarms": 3}, T0)
        store.area_months.keep("*", "2026-10", {"alarms": 99}, T0)
    assert [row.target_kind for row, _ in store.outbox.heads()] == ["sms"]
    assert store.identities.admitted("!r") == frozenset({"@chef:x"})
    assert store.page_watch.next_unseen_due() == T0 + 300
    assert store.alarms.alarm_of_page("$page") == "L1"
    assert store.area_months.between("2026-10", "2026-10") == [("*", "2026-10", {"alarms": 3})]


def test_lists_are_unnested_and_a_null_parameter_means_any(store):
    with store.transaction():
        for number, status in ((1, "open"), (2, "closed"), (3, "accepted"), (4, "exhausted")):
            store.alarms.insert(alarm(number, status), "fritext")
        for number in (1, 2, 3):
            store.handovers.add(HandoverRow(f"L{number}", "farsta", "farsta", T0, T0 + number, None, 0))
        store.area_months.keep("farsta", "2026-10", {"alarms": 1}, T0)
        store.area_months.keep("*", "2026-10", {"alarms": 2}, T0)
        store.area_months.keep("farsta", "2026-11", {"alarms": 3}, T0)
    assert [s["n"] for s in store.alarms.states()] == [1, 3, 4]
    assert [s["n"] for s in store.alarms.states(("closed",))] == [2]
    assert sorted(store.handovers.for_alarms(["L1", "L3", "L9"])) == ["L1", "L3"]
    assert [(a, m) for a, m, _ in store.area_months.between("2026-10", "2026-11")] == \
        [("*", "2026-10"), ("farsta", "2026-10"), ("farsta", "2026-11")]
    assert [m for _, m, _ in store.area_months.between("2026-10", "2026-11", "farsta")] == ["2026-10", "2026-11"]


def test_the_earliest_due_instant_comes_from_two_tables(store):
    assert store.handovers.next_at() is None
    with store.transaction():
        store.handovers.set_opening(Opening("farsta", T0 + 500, T0))
        store.handovers.add(HandoverRow("L1", "farsta", "farsta", T0, T0, T0 + 200, 0))
    assert store.handovers.next_at() == T0 + 200


def test_overrides_and_leave_with_their_reserved_word_end_are_stored_listed_and_purged(store):
    with store.transaction():
        kept = store.overrides.add(Override("@a:x", "A", "jour", "primary", NOW, NOW + timedelta(hours=8)), "@c:x",
                                   NOW)
        store.leave.add(Leave("@a:x", NOW, NOW + timedelta(days=2)), "@c:x", NOW)
    assert [o.id for o in store.overrides.active()] == [kept.id]
    assert [(entry.start, entry.end) for entry in store.leave.active()] == [(NOW, NOW + timedelta(days=2))]
    counts = store.retention.purge(T0 + 400 * 86400, 365)
    assert counts["overrides"] == 1 and counts["leave_entries"] == 1
    assert store.overrides.active() == [] and store.leave.active() == []


def test_another_user_of_the_database_keeps_it_from_being_held_alone(tmp_path, database):
    first = Store(tmp_path / "state" / "jourbot.db", SecretBox("k"), database=database)
    second = Store(tmp_path / "state" / "jourbot.db", SecretBox("k"), database=database)
    try:
        assert not first.db.exclusive()
        pid = second.db.conn.info.backend_pid if database else 0
        second.close()
        deadline = time.monotonic() + 10  # a server process frees its locks a moment after its client closes
        while pid and first.db.execute("SELECT 1 FROM pg_stat_activity WHERE pid = ?", [pid]).fetchone():
            assert time.monotonic() < deadline, "the closed connection's server process never ended"
            time.sleep(0.01)
        assert first.db.exclusive()
    finally:
        first.close()


def test_jourbot_roster_and_the_preflight_read_the_database_without_opening_the_store(tmp_path, database):
    from bot.store.leave import read_active as read_leave
    from bot.store.overrides import read_active as read_overrides
    from bot.store.roster_snapshots import read_last

    path = tmp_path / "state" / "jourbot.db"
    assert (read_leave(path, database), read_overrides(path, database), read_last(path, database)) == ([], [], None)
    store = Store(path, SecretBox("k"), database=database)
    try:
        with store.transaction():
            store.overrides.add(Override("@a:x", "A", "jour", "primary", NOW, NOW + timedelta(hours=8)), "@c:x", NOW)
            store.leave.add(Leave("@b:x", NOW, NOW + timedelta(days=2)), "@c:x", NOW)
            store.roster_snapshots.save(RosterSnapshot("d1", T0, "/r", {"a.toml": b"1"}))
        assert [o.user for o in read_overrides(path, database)] == ["@a:x"]
        assert [entry.user for entry in read_leave(path, database)] == ["@b:x"]
        last = read_last(path, database)
        assert last is not None and last.files == {"a.toml": b"1"}
    finally:
        store.close()


def test_each_instance_has_a_sync_position_of_its_own_and_the_room_heads_are_shared(tmp_path, database):
    first = Store(tmp_path / "a" / "jourbot.db", SecretBox("k"), database=database)
    # Instances have state folders of their own; on SQLite two bots would share the file (never in production).
    second = Store(tmp_path / ("b" if database else "a") / "jourbot.db", SecretBox("k"), database=database)
    try:
        first.sync.of_instance("DEVICEA")
        second.sync.of_instance("DEVICEB")
        with first.transaction():
            first.sync.save("s_a", {"!r": Head("$1", 1)})
        assert first.sync.token() == "s_a"
        assert second.sync.token() is None, "a /sync token carries its own device's to-device position"
        assert second.sync.heads() == {"!r": Head("$1", 1)}
    finally:
        first.close()
        second.close()


def test_an_attempt_started_under_an_earlier_epoch_makes_the_next_one_a_repeat_once(store):
    with store.transaction():
        store.outbox.add(NewMessage("user", "@a:x", {"body": "page"}, "page:L1:0", 0, 1e12), "cause", 0)
    row_id = store.outbox.heads()[0][0].id
    with store.transaction():
        assert store.outbox.claim_attempt(row_id, 1) == (False, False)  # the first attempt ever
        assert store.outbox.claim_attempt(row_id, 1) == (False, False)  # retried by the same instance
        assert store.outbox.claim_attempt(row_id, 2) == (True, True)  # the taker: it may have gone already
        assert store.outbox.claim_attempt(row_id, 2) == (True, False)  # its retry stays marked, counted once
