"""Logging: ids and outcomes only. Alarm free text and message bodies are never passed to a logger."""

from __future__ import annotations

import logging


def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # nio logs whole events at DEBUG and some payloads at INFO; keep it quiet so free text never reaches a log.
    for noisy in ("nio", "peewee", "aiohttp.access", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
