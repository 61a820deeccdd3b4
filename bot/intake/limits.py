"""How much one sender can make the bot say: a flood of commands must not become a flood of answers.

- Someone with a role may send `count` commands per `window_s`; beyond that they get one notice, then silence until
  the window has room again.
- Someone with no role gets at most one answer (a refusal, or the help text) per `stranger_quiet_s`.

The limits live in memory: after a restart everyone starts afresh, which errs on the side of answering. `!larm` is
never held back: past its own limit (alarms.rate_limit_*, counted in the store because alarms are) the supervisors
are told, and the alarm is paged all the same.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum


class Verdict(Enum):
    ANSWER = "answer"
    NOTICE = "notice"  # over the limit: say so once
    SILENT = "silent"


@dataclass(frozen=True)
class LimitSettings:
    count: int = 20
    window_s: float = 60.0
    stranger_quiet_s: float = 300.0


class SenderLimits:
    def __init__(self, settings: LimitSettings, clock: Callable[[], float]) -> None:
        self.settings = settings
        self.clock = clock
        self._recent: dict[str, deque[float]] = {}
        self._told: dict[str, float] = {}  # sender → when they were last told they are over the limit
        self._stranger_answered: dict[str, float] = {}

    def judge(self, sender: str, has_role: bool) -> Verdict:
        now = self.clock()
        if not has_role:
            last = self._stranger_answered.get(sender)
            if last is not None and now - last < self.settings.stranger_quiet_s:
                return Verdict.SILENT
            self._stranger_answered[sender] = now
            return Verdict.ANSWER
        recent = self._recent.setdefault(sender, deque())
        while recent and now - recent[0] >= self.settings.window_s:
            recent.popleft()
        if len(recent) < self.settings.count:
            recent.append(now)
            self._told.pop(sender, None)
            return Verdict.ANSWER
        if sender in self._told:
            return Verdict.SILENT
        self._told[sender] = now
        return Verdict.NOTICE
