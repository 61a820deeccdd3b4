"""A message that may go twice after a takeover goes marked as a repeat.

The homeserver drops a repeated transaction id only from the same device; each instance is a device of its own. So a
message an instance was sending when it died may have reached the homeserver, and the taker, sending it again, cannot
have the repeat dropped. Before each attempt the acting instance records its fencing epoch on the row, in a fenced
transaction (so an instance another took over from starts no attempt at all). A pending row whose last attempt an
earlier epoch started is sent again with its first line marked "(upprepning)" / "(repeat)" — the same alarm id, so
its reader sees it is the same — and counted in /metrics (`jourbot_resent_after_takeover_total`). A row nobody had
started is sent as it is.

SQLite's one process never takes over: its sender claims nothing, and the send path is as before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from bot.core.i18n import t
from bot.store import OutboxRow, Store
from bot.store.db import Fenced
from bot.watch.metrics import Metrics

log = logging.getLogger(__name__)


def marked(content: dict[str, Any], mark: str) -> dict[str, Any]:
    """`content` with `mark` at the end of its first line (the text clients show in a notification)."""
    out = dict(content)
    for key, line_break in (("body", "\n"), ("text", "\n"), ("formatted_body", "<br>")):
        text = out.get(key)
        if isinstance(text, str):
            first, sep, rest = text.partition(line_break)
            out[key] = f"{first} {mark}{sep}{rest}"
    return out


class RepeatMarks:
    def __init__(self, store: Store, lang: str, metrics: Metrics, acting: Callable[[], bool]) -> None:
        self.store = store
        self.acting = acting
        self.mark = t("runtime.repeat_mark", lang)
        self.metrics = metrics

    def claim(self, row: OutboxRow) -> OutboxRow:
        """This instance starts an attempt at `row`: what to send. Raises Fenced if another instance acts now."""
        epoch = self.store.acting.epoch
        if epoch is None or not self.acting():
            raise Fenced("this instance does not act: it sends nothing")
        with self.store.transaction():
            repeat, newly = self.store.outbox.claim_attempt(row.id, epoch)
        if newly:
            self.metrics.resent_after_takeover.inc()
            log.warning("outbox %s: an attempt by the instance acting before may have reached the homeserver; sent"
                        " again marked as a repeat", row.txn_id)
        return replace(row, content=marked(row.content, self.mark)) if repeat else row
