"""Logging: ids and outcomes only. Alarm free text and message bodies are never passed to a logger.

Lines are for people ("text") or one JSON object each ("json", `[logging] format`) for journald or Loki to index by
level and logger without parsing prose. The JSON carries the same message as the text line and nothing more: no
record attribute (arguments, extra fields) that a caller did not put in the message itself.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def setup_logging(level: str = "INFO", fmt: str = "text") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=level.upper(), handlers=[handler])
    # nio logs whole events at DEBUG and some payloads at INFO; keep it quiet so free text never reaches a log.
    for noisy in ("nio", "peewee", "aiohttp.access", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
