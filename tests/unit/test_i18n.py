"""The texts: every key in both languages, the same placeholders, none asked for that does not exist, none unused."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

from bot.core.i18n import all_keys, catalogue, duration, either

ROOT = Path(__file__).resolve().parents[2]
KEY = re.compile(r"^(alarm|alarmcmd|runtime|registry|roster|override|stats|help|duration|list"
                 r"|handover|webview|trust)\.[a-z_.]*[a-z_]$")
# The browser view's templates ask for texts as t("key", ...).
TEMPLATE_KEY = re.compile(r"\bt\(\"([a-z_.]+)\"")
# Keys the code builds at run time, and the parts they are built from.
DYNAMIC = {
    "roster.role.": ("primary", "secondary", "supervisor", "unit"),
    "alarm.reason.": ("too_large", "forbidden", "unknown_user", "no_trusted_device", "identity_changed", "room_gone",
                      "rejected", "timeout"),
    "duration.": ("second", "seconds", "minute", "minutes", "hour", "hours"),
    "handover.decision.": ("safety_plan", "relative", "emergency_placement", "other"),
    "webview.check.kind.": ("step", "overlap", "rest"),
    "webview.status.": ("open", "exhausted", "accepted", "closed", "cancelled"),
    "webview.event.": ("raised", "escalated", "exhausted", "accepted", "declined", "delivered", "unreachable",
                       "closed", "cancelled", "room_opened", "phase_en_route", "phase_arrived", "phase_assessment",
                       "phase_assessment_not", "phase_handed_over", "handover_listed", "handover_reminded",
                       "handover_received", "seen", "sms_sent"),
}


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def literals_in_code() -> set[str]:
    found: set[str] = set()
    for package in ("bot", "handlers"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and KEY.match(node.value):
                    found.add(node.value)
    for path in (ROOT / "bot" / "web" / "templates").glob("*.html"):
        found.update(key for key in TEMPLATE_KEY.findall(path.read_text(encoding="utf-8")) if not key.endswith("."))
    return found


def test_every_text_exists_in_both_languages_with_the_same_placeholders():
    for key, (sv, en) in all_keys().items():
        assert sv.strip() and en.strip(), f"{key} lacks a language"
        assert placeholders(sv) == placeholders(en), key


def test_the_code_asks_only_for_texts_that_exist_and_every_text_is_used():
    keys = set(all_keys())
    used = literals_in_code() | {prefix + part for prefix, parts in DYNAMIC.items() for part in parts}
    assert used - keys == set(), "asked for but missing from the .po files"
    assert keys - used == set(), "in the .po files but never used"


def test_both_catalogues_are_complete():
    assert set(catalogue("sv")) == set(catalogue("en"))


def test_durations_and_alternatives_read_as_sentences():
    assert duration(1, "sv") == "1 sekund" and duration(30, "sv") == "30 sekunder"
    assert duration(900, "sv") == "15 minuter" and duration(60 * 60 * 3, "en") == "3 hours"
    assert either(["Farsta", "Skärholmen", "Tomby"], "sv") == "Farsta, Skärholmen eller Tomby"
    assert either(["Farsta"], "en") == "Farsta"
