"""What the soak found, read back from where it can be seen: what each person's client received and decrypted, and
what the shared database says (tests/soak/test_takeover_soak.py)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

from bot.store.readonly import read_rows
from tests.harness.instances import BOT
from tests.harness.people import Person, Received
from tests.harness.waits import until

REPEAT = "(upprepning)"  # what a message in flight at a takeover ends its first line with, sent again (sv)
PAGE = re.compile(r"🚨 Larm (L\d+) —")
RAISED = re.compile(r"Larm (L\d+) \(")
TAKEOVER = "🔀"  # the supervisors' line at a takeover: the same words at each takeover between the same two


def first_line(message: Received) -> str:
    return message.body.split("\n", 1)[0]


def marked(message: Received) -> bool:
    """Sent again after a takeover: the mark ends the first line (bot/ha/repeats.py)."""
    return first_line(message).endswith(f" {REPEAT}")


def as_read(message: Received) -> str:
    """The message as its reader takes it: a repeat's mark taken off."""
    line, rest = first_line(message), message.body[len(first_line(message)):]
    return (line.removesuffix(f" {REPEAT}") if marked(message) else line) + rest


def names(alarm_id: str, text: str) -> bool:
    return re.search(rf"\b{alarm_id}\b", text) is not None


def pages_of(person: Person, alarm_id: str) -> list[Received]:
    """`alarm_id`'s pages that reached `person` (reminders apart), marked repeats among them."""
    return [m for m in person.pages(BOT) if (found := PAGE.search(first_line(m))) and found.group(1) == alarm_id]


def doubles(person: Person) -> tuple[list[str], list[str], int]:
    """What the bot told `person` twice, wherever: (lines that came twice unmarked, lines whose repeat came marked more
    than once, how many marked repeats came). The takeover lines are apart: they may say the same words each time."""
    said = [m for m in person.from_sender(BOT) if TAKEOVER not in m.body]
    plain = Counter(as_read(m) for m in said if not marked(m))
    repeats = Counter(as_read(m) for m in said if marked(m))
    return ([line for line, n in plain.items() if n > 1], [line for line, n in repeats.items() if n > 1],
            sum(repeats.values()))


def distinct(lines: list[Received], wanted: str) -> list[str]:
    """The different lines holding `wanted` (a marked repeat and its original are one)."""
    return sorted({as_read(m) for m in lines if wanted in m.body})


class Database:
    """The shared database, read as `jourbot roster` reads it: a connection of its own that cannot write."""

    def __init__(self, url: str) -> None:
        self.url = url

    def rows(self, table: str, sql: str, params: list[object] | None = None) -> list[Any]:
        return read_rows(Path("/nonexistent"), self.url, table, sql, params or [])

    def count(self, table: str, sql: str) -> int:
        return int(self.rows(table, sql)[0][0])

    def busy(self) -> list[Any]:
        """The alarms still open and the messages still to send: nothing, once all is done."""
        return (self.rows("alarms", "SELECT id, status FROM alarms WHERE status IN ('open', 'exhausted', 'accepted')")
                + self.rows("outbox", "SELECT purpose, target, attempts FROM outbox WHERE status = 'pending'"))

    def statuses(self) -> dict[str, str]:
        return dict(self.rows("alarms", "SELECT id, status FROM alarms"))

    def endings(self) -> Counter[tuple[str, str]]:
        """(alarm, alarm.closed or alarm.cancelled) as often as the audit trail holds it."""
        return Counter((str(subject), str(action)) for subject, action in self.rows(
            "audit", "SELECT subject, action FROM audit WHERE action IN ('alarm.closed', 'alarm.cancelled')"))

    def outbox(self) -> list[tuple[str, str, str, str, str]]:
        """(status, target kind, target, purpose, sent event id) of every message the bot queued."""
        return [tuple(str(v) for v in row) for row in self.rows(
            "outbox", "SELECT status, target_kind, target, purpose, sent_event_id FROM outbox"
            " WHERE event_type = 'm.room.message' ORDER BY id")]

    def alarm_rooms(self) -> dict[str, str]:
        return dict(self.rows("alarm_rooms", "SELECT alarm_id, room_id FROM alarm_rooms"))

    async def settled(self, people: list[Person], timeout: float = 180) -> None:
        """Until no alarm is open, nothing waits to be sent and all that was sent to these people (to them, or to a
        room they are in) has reached them: what they received is then all they will receive."""
        await until(lambda: not self.busy(), timeout, lambda: f"every alarm ended, the outbox empty: {self.busy()}",
                    every=0.5)

        def missing() -> list[tuple[str, str]]:
            rooms = self.alarm_rooms()
            lacking = []
            for status, kind, target, _purpose, event_id in self.outbox():
                room = rooms.get(target, "") if kind == "alarm" else target
                for person in people if status == "sent" else []:
                    meant = target == person.user_id if kind == "user" else person.in_room(room)
                    if meant and not person.has_received(event_id):
                        lacking.append((person.user_id, event_id))
            return lacking

        await until(lambda: not missing(), timeout, lambda: f"messages to reach their readers: {missing()}",
                    every=0.5)
