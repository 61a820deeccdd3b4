"""Whether a key (the pickle key, the data key) can resist guessing, and whether its file is private.

The rule, as the README states it: a key is one random string of at least 128 bits, counted as its length times the
bits one character of the smallest alphabet it fits carries (hexadecimal 4, base64 6, any other printable character
6.5), so at least 32 hexadecimal or 22 base64 characters; it holds no spaces (a key, not a sentence), at least 10
different characters, and no character is repeated so often that the string says less than 3 bits a character. That
stops short keys, typos, sentences and repeated characters; no count tells a random key from a made-up one, so keys
are made with `jourbot keys new` (or `openssl rand -base64 32`).

A key file must be a regular file owned by the bot's user and readable by nobody else (mode 0600, or 0400 as systemd
gives a credential), or a credential systemd keeps for the bot in ${CREDENTIALS_DIRECTORY}.
"""

from __future__ import annotations

import math
import os
import re
import secrets
import stat
from collections import Counter
from pathlib import Path

MIN_BITS = 128
MIN_DISTINCT = 10
MIN_BITS_PER_CHAR = 3.0
_HEX = re.compile(r"[0-9a-fA-F]+")
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]+=*")


def new_key() -> str:
    """A key of 256 random bits, in URL-safe base64 (43 characters)."""
    return secrets.token_urlsafe(32)


def nominal_bits(key: str) -> float:
    """The most bits `key` can hold: its length times the bits of a character of the smallest alphabet it fits."""
    if _HEX.fullmatch(key):
        per_char = 4.0
    elif _BASE64.fullmatch(key):
        per_char = 6.0
        key = key.rstrip("=")
    else:
        per_char = math.log2(94)
    return len(key) * per_char


def _bits_per_char(key: str) -> float:
    """The Shannon entropy of the characters of `key` as they occur in it: low for repeated characters."""
    counts = Counter(key)
    return -sum(n / len(key) * math.log2(n / len(key)) for n in counts.values())


def weakness(key: str) -> str:
    """Why `key` is too weak to be a key, or "" when it is not."""
    if any(c.isspace() for c in key):
        return "it holds spaces: a key is one random string, not a sentence"
    bits = nominal_bits(key)
    if bits < MIN_BITS:
        return (f"a key of {len(key)} characters holds at most {bits:.0f} bits, and at least {MIN_BITS} are needed"
                " (32 hexadecimal or 22 base64 characters of a random key)")
    if len(set(key)) < MIN_DISTINCT or _bits_per_char(key) < MIN_BITS_PER_CHAR:
        return "it repeats too few characters to be random"
    return ""


def file_problem(path: Path) -> str:
    """Why the key file at `path` is not private to the bot's user, or "" when it is."""
    try:
        info = path.stat()
    except OSError:
        return ""  # reading it says what is wrong
    if not stat.S_ISREG(info.st_mode):
        return f"{path} is not a regular file"
    if _systemd_credential(path, info):
        return ""
    if info.st_uid != os.geteuid():
        return f"{path} must be owned by the bot's user (uid {os.geteuid()}), not uid {info.st_uid} (chown it)"
    if info.st_mode & 0o077:
        return (f"{path} has mode {stat.S_IMODE(info.st_mode):04o}: it must be readable by the bot's user only"
                " (chmod 600, or 400)")
    return ""


def _systemd_credential(path: Path, info: os.stat_result) -> bool:
    """A credential systemd put in the unit's ${CREDENTIALS_DIRECTORY} for this user (LoadCredential=).

    On a file system without ACLs (systemd 252, Debian 12: ramfs) systemd hands the file to the service's user, mode
    0400, which the owner rule above accepts. Where it has ACLs (tmpfs, newer systemd) the file stays root's, mode
    0400 plus an ACL entry granting this user read, which shows as 0440; the folder is the unit's alone and mounted
    read-only. Such a file is accepted when it lies in that folder, is root's, nobody may write it and "other" may
    not read it."""
    folder = os.environ.get("CREDENTIALS_DIRECTORY")
    if not folder or path.resolve().parent != Path(folder).resolve():
        return False
    return info.st_uid == 0 and not info.st_mode & 0o227 and os.access(path, os.R_OK)
