"""Phone numbers as the roster files write them: E.164, the one form an SMS gateway and a phone dial alike.

"+46701234567" is accepted; "070-123 45 67" is not, because a number without its country code is read
differently by different gateways, and a wrong digit found during an alarm is found too late.
"""

from __future__ import annotations

import re

__all__ = ["E164", "is_e164", "spoken_phone"]

# "+", a country code that does not start with 0, then at most 15 digits in all (ITU-T E.164). [0-9], not \d,
# which would also accept digits of other scripts.
E164 = re.compile(r"\A\+[1-9][0-9]{6,14}\Z")


def is_e164(text: str) -> bool:
    """Whether `text` is a phone number in E.164 form: "+" and 7 to 15 digits, no spaces or dashes."""
    return E164.match(text) is not None


# Swedish area codes of three digits (with the leading 0); 08 is Stockholm's two, mobile numbers (07x) take three,
# and every other area code has four.
_THREE_DIGIT_AREAS = frozenset({"011", "013", "016", "018", "019", "021", "023", "026", "031", "033", "035", "036",
                                "040", "042", "044", "046", "054", "060", "063", "090"})
_WRITTEN = re.compile(r"\A\+?[0-9][0-9 -]{5,20}\Z")


def spoken_phone(text: str) -> str:
    """A Swedish number as Swedes write it: "+46701740605" → "070-174 06 05", "08-5080 0010" → "08-508 000 10": the
    area code, a dash, and the subscriber's number in groups of two and three from the right. Anything that is not a
    Swedish number (another country's, a word) is given back as it was."""
    if not _WRITTEN.match(text.strip()):
        return text
    digits = re.sub(r"[ -]", "", text.strip())
    if digits.startswith("+46"):
        digits = "0" + digits[3:]
    elif digits.startswith("+") or not digits.startswith("0") or digits.startswith("00"):
        return text
    if not 8 <= len(digits) <= 11:
        return text
    area = 2 if digits.startswith("08") else 3 if digits.startswith("07") or digits[:3] in _THREE_DIGIT_AREAS else 4
    number = digits[area:]
    groups = {5: (3, 2), 6: (2, 2, 2), 7: (3, 2, 2), 8: (3, 3, 2)}.get(len(number))
    if groups is None:
        return text
    parts, at = [], 0
    for size in groups:
        parts.append(number[at:at + size])
        at += size
    return f"{digits[:area]}-{' '.join(parts)}"
