"""The identity gate as a standby holds it: it writes nothing to the shared database.

The Matrix client tells the gate of every device list it syncs (`seen_devices`, which records new devices). Every
instance syncs the same lists, so the acting one records them; a standby only reads. What it admits is read from the
pins as they stand (a standby shares no room keys: it sends nothing).
"""

from __future__ import annotations

from collections.abc import Callable

from bot.matrix.port import IdentityGate


class StandbyGate:
    def __init__(self, gate: IdentityGate, acting: Callable[[], bool]) -> None:
        self.gate = gate
        self.acting = acting

    @property
    def version(self) -> int:
        return self.gate.version

    def admits(self, user_id: str, master_key: str | None) -> bool:
        return self.gate.admits(user_id, master_key)

    def seen_devices(self, user_id: str, device_ids: frozenset[str]) -> None:
        if self.acting():
            self.gate.seen_devices(user_id, device_ids)
