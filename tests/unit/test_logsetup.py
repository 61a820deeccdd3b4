"""[logging] format: lines for people, or one JSON object a line for journald or Loki."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CONFIG = """
[matrix]
homeserver = "https://matrix.example.org"
user_id = "@jourbot:example.org"

[logging]
format = "{fmt}"
"""

# What `jourbot run` does with the config, then a log line, one with an exception, and nio's chatter.
SCRIPT = """
import logging, sys
from bot import config
from bot.logsetup import setup_logging
loaded = config.load(sys.argv[1])
setup_logging(loaded.bot.log_level, loaded.logging.format)
logging.getLogger("bot.alarm.service").info("alarm %s accepted by %s", "L42", "@anna:example.org")
try:
    1 / 0
except ZeroDivisionError:
    logging.getLogger("bot.app").exception("sweep failed")
logging.getLogger("nio.rooms").info("a whole event with its body")
"""


def run(tmp_path: Path, fmt: str) -> list[str]:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(fmt=fmt))
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(path)], capture_output=True, text=True, check=True,
                          cwd=Path(__file__).resolve().parents[2])
    return done.stderr.splitlines()


def test_json_lines_carry_level_logger_and_message_and_nothing_from_nio(tmp_path):
    lines = [json.loads(line) for line in run(tmp_path, "json")]
    assert [(line["level"], line["logger"], line["message"]) for line in lines] == [
        ("INFO", "bot.alarm.service", "alarm L42 accepted by @anna:example.org"),
        ("ERROR", "bot.app", "sweep failed"),
    ]
    assert "ZeroDivisionError" in lines[1]["exception"] and lines[0]["time"].endswith("+00:00")
    assert set(lines[0]) == {"time", "level", "logger", "message"}


def test_text_is_the_default_for_people(tmp_path):
    lines = run(tmp_path, "text")
    assert lines[0].endswith("INFO bot.alarm.service: alarm L42 accepted by @anna:example.org")
    assert not any("whole event" in line for line in lines)
