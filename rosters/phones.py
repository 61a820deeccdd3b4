"""Phone numbers as the roster files write them: E.164, the one form an SMS gateway and a phone dial alike.

"+46701234567" is accepted; "070-123 45 67" is not, because a number without its country code is read
differently by different gateways, and a wrong digit found during an alarm is found too late.
"""

from __future__ import annotations

import re

__all__ = ["E164", "is_e164"]

# "+", a country code that does not start with 0, then at most 15 digits in all (ITU-T E.164). [0-9], not \d,
# which would also accept digits of other scripts.
E164 = re.compile(r"\A\+[1-9][0-9]{6,14}\Z")


def is_e164(text: str) -> bool:
    """Whether `text` is a phone number in E.164 form: "+" and 7 to 15 digits, no spaces or dashes."""
    return E164.match(text) is not None
