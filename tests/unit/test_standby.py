"""The parts of standing by (bot/ha/) that need no database: what a standby keeps of its syncs for the takeover, the
repeat mark, what /healthz asks of a standby, and the role's turns against a lock the test holds."""

from __future__ import annotations

import asyncio

import pytest

from bot.ha.recent import RecentBatches
from bot.ha.repeats import marked
from bot.ha.role import LostActing, Role
from bot.matrix.port import Batch, Incoming, Membership, Receipt
from bot.store.acting import Holder
from bot.store.db import Fenced
from bot.store.sync import Head
from bot.watch.health import HealthLimits, HealthReport, judge
from bot.watch.metrics import Metrics

T0 = 1_790_000_000.0


def event(event_id: str, at: float) -> Incoming:
    return Incoming("message", event_id, "!r", "@p:x", int(at * 1000), body="!larm Farsta")


def test_a_standby_keeps_its_batches_as_one_in_order_and_without_repeats():
    clock = [T0]
    recent = RecentBatches(lambda: clock[0])
    assert recent.backlog() is None, "no batch yet: nothing to hand over"
    recent.keep(Batch([event("$2", T0 + 2)], "s1", {"!r": Head("$2", 2)}))
    recent.keep(Batch([event("$1", T0 + 1), event("$2", T0 + 2)], "s2", {"!q": Head("$9", 9)},
                      [Receipt("!r", "@a:x", "$2", T0 + 3)]))
    batch = recent.backlog()
    assert batch is not None
    assert [e.event_id for e in batch.events] == ["$1", "$2"]
    assert batch.next_batch == "s2" and batch.heads == {"!r": Head("$2", 2), "!q": Head("$9", 9)}
    assert len(batch.receipts) == 1
    assert recent.backlog() is None, "handed over once"


def test_a_standby_forgets_what_is_older_than_it_keeps_and_beyond_its_bound():
    clock = [T0]
    recent = RecentBatches(lambda: clock[0], keep_s=60, most=3)
    recent.keep(Batch([event("$old", T0)], "s1", {}))
    clock[0] += 61
    recent.keep(Batch([event(f"${i}", clock[0]) for i in range(5)], "s2", {}))
    batch = recent.backlog()
    assert batch is not None and [e.event_id for e in batch.events] == ["$2", "$3", "$4"]


def test_a_standby_hands_over_the_newest_membership_change_per_person_and_room():
    clock = [T0]
    recent = RecentBatches(lambda: clock[0], keep_s=60)
    recent.keep(Batch([], "s1", {}, memberships=[Membership("!dm", "@eve:x", "invite", "@anna:x"),
                                                 Membership("!old", "@old:x", "join", "@old:x")]))
    clock[0] += 30
    recent.keep(Batch([], "s2", {}, memberships=[Membership("!dm", "@eve:x", "join", "@eve:x")]))
    clock[0] += 40  # the change in !old was synced 70 s ago: past what is kept
    batch = recent.backlog()
    assert batch is not None
    assert batch.memberships == [Membership("!dm", "@eve:x", "join", "@eve:x")], \
        "the stranger who entered the direct room is handed over as she is now, once"
    recent.keep(Batch([], "s3", {}))
    after = recent.backlog()
    assert after is not None and after.memberships == [], "handed over once"


def test_a_repeat_is_marked_at_the_end_of_the_first_line_of_each_text():
    content = {"msgtype": "m.text", "body": "Anna: 🚨 Larm L1\nTa larmet: !ok L1", "formatted_body": "<a>Anna</a>: "
               "🚨 Larm L1<br>Ta larmet", "m.mentions": {"user_ids": ["@a:x"]}}
    out = marked(content, "(upprepning)")
    assert out["body"] == "Anna: 🚨 Larm L1 (upprepning)\nTa larmet: !ok L1"
    assert out["formatted_body"] == "<a>Anna</a>: 🚨 Larm L1 (upprepning)<br>Ta larmet"
    assert out["m.mentions"] == content["m.mentions"] and content["body"].endswith("!ok L1"), "a copy"
    assert marked({"phone": "+46", "text": "Larm L1"}, "(repeat)")["text"] == "Larm L1 (repeat)"


def test_a_healthy_standby_is_healthy_without_sweeping_or_sending():
    limits = HealthLimits(sync_age_s=120, undelivered_age_s=300, sweep_age_s=30)
    standby = HealthReport(2.0, 5, 900.0, None, "ok", role="standing_by")
    assert judge(standby, limits).healthy, "ready to take over: the sweep and the outbox are the acting one's"
    assert judge(HealthReport(None, 0, None, None, "ok", role="standing_by"), limits).problems == ["not synced yet"]
    acting = HealthReport(2.0, 5, 900.0, None, "ok")
    assert len(judge(acting, limits).problems) == 2


class FakeDb:
    dialect = "postgresql"

    def __init__(self) -> None:
        self.reconnects = 0

    def reconnect(self) -> None:
        self.reconnects += 1


class FakeActing:
    """The lock as bot/store/acting.py keeps it, with who held it last and whether a beat goes through."""

    def __init__(self, holder: str, free: bool) -> None:
        self.db = FakeDb()
        self.holder = holder
        self.free = free
        self.epoch: int | None = None
        self.refuse_beats = False

    def current(self) -> Holder:
        return Holder(1, self.holder, 0.0, 0)

    def take(self, holder: str, silent_after: float | None = None) -> bool:
        if not self.free:
            return False
        self.holder, self.epoch = holder, 2
        return True

    def beat(self) -> None:
        if self.refuse_beats:
            raise Fenced("another instance acts now")


def role(acting: FakeActing) -> Role:
    made = Role(acting, 5.0, Metrics())  # type: ignore[arg-type]
    made.instance = "SECOND"
    return made


def test_taking_the_lock_from_another_instance_is_a_takeover_and_counted():
    acting = FakeActing("FIRST", free=False)
    standby = role(acting)
    assert not standby.try_once() and standby.name == "standing_by"
    acting.free = True
    assert standby.try_once() and standby.name == "acting" and standby.took_from == "FIRST"
    assert standby.metrics.registry.get_sample_value("jourbot_takeovers_total") == 1
    assert standby.metrics.registry.get_sample_value("jourbot_acting") == 1


def test_taking_back_ones_own_lock_after_a_restart_is_no_takeover():
    standby = role(FakeActing("SECOND", free=True))
    assert standby.try_once() and standby.took_from == ""
    assert standby.metrics.registry.get_sample_value("jourbot_takeovers_total") == 0


async def test_a_refused_beat_ends_acting_at_once():
    acting = FakeActing("", free=True)
    taker = role(acting)
    assert taker.try_once()
    acting.refuse_beats = True
    with pytest.raises(LostActing, match="another instance acts now"):
        await taker.beat_while_acting(asyncio.Event())
    assert not taker.acting and taker.lost.is_set()
    assert taker.metrics.registry.get_sample_value("jourbot_acting") == 0


async def test_a_standby_that_cannot_reach_the_database_connects_anew_and_keeps_trying():
    acting = FakeActing("FIRST", free=False)
    standby = role(acting)
    tries = 0

    def unreachable(holder: str, silent_after: float | None = None) -> bool:
        nonlocal tries
        tries += 1
        if tries == 1:
            raise OSError("connection refused")
        return FakeActing.take(acting, holder, silent_after)

    acting.take = unreachable  # type: ignore[method-assign]
    acting.free = True
    stop = asyncio.Event()
    assert await asyncio.wait_for(standby.until_acting(stop), 5)
    assert acting.db.reconnects == 1 and tries == 2
