"""The pure parts of standing by (bot/ha/): what a standby keeps of its syncs for the takeover, the repeat mark, and
what /healthz asks of a standby."""

from __future__ import annotations

from bot.ha.recent import RecentBatches
from bot.ha.repeats import marked
from bot.matrix.port import Batch, Incoming, Receipt
from bot.store.sync import Head
from bot.watch.health import HealthLimits, HealthReport, judge

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
