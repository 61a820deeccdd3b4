"""Names as people type them, and the one grammar each kind of name is checked against.

People type area names, roles and user ids in chat, on the command line and in roster files, on phones and
keyboards that disagree about case, å/ä/ö and even the width of letters. A name accepted in one place must be
accepted everywhere, so all of jourbot should compare and check such text through this module, never a copy.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["MATRIX_USER_ID", "fold", "is_matrix_user_id", "normalize", "role_word"]

_NOT_WORD = re.compile(r"[^0-9a-z]+")


def fold(text: str) -> str:
    """`text` as a comparison key that ignores case, diacritics and character width.

    A police officer on a phone types "skarholmen", a roster says "Skärholmen", a pasted name may come in
    full-width letters: all must find the same area. NFKC first, so that compatibility forms (full-width letters,
    ligatures) become ordinary letters before case folding, which is defined on them; then the diacritics are split
    off (NFKD) and dropped. Punctuation and spaces are kept; `normalize` is the looser key that drops them too.
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    decomposed = unicodedata.normalize("NFKD", folded)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def normalize(text: str) -> str:
    """The key area, unit and role names are looked up by: `fold`, then any run of punctuation or space as one space.

    "Farsta-strand", "farsta  strand" and "FARSTA STRAND" name the same area, so names are matched on their letters
    and digits alone; anything outside a-z and 0-9 after folding separates words and nothing more.
    """
    return _NOT_WORD.sub(" ", fold(text)).strip()


# Matrix user ids, as the Matrix specification (appendices, "User Identifiers" and "Server Name") writes them. The
# localpart is the grammar for new ids: lowercase only, so "@Anna:example.org" is refused rather than paging nobody.
# The server name is a DNS name or IPv4 literal (both within [A-Za-z0-9.-]), or an IPv6 literal in brackets, with
# an optional port. A whole id is at most 255 bytes; every character the grammar allows is ASCII, so bytes are
# characters. [0-9] rather than \d, which would also accept digits of other scripts.
MATRIX_USER_ID = re.compile(
    r"""
    \A (?=.{1,255}\Z)
    @ [a-z0-9._=\-/+]+
    :
    (?: [A-Za-z0-9.\-]{1,255}           # DNS name or IPv4 literal
      | \[ [0-9A-Fa-f:.]{2,45} \]       # IPv6 literal
    )
    (?: : [0-9]{1,5} )?                 # port
    \Z
    """,
    re.VERBOSE,
)


def is_matrix_user_id(text: str) -> bool:
    """Whether `text` is a Matrix user id that a homeserver could have issued.

    A roster or config naming someone by a malformed id would page nobody, silently, during an alarm; checking with
    this one grammar when the files are read turns that into an error a supervisor sees and fixes in advance.
    """
    return MATRIX_USER_ID.match(text) is not None


# Keys are `normalize`d, so "Primär", "PRIMAR" and "primär" all reach "primar".
_ROLE_WORDS = {
    "primary": "primary",
    "primar": "primary",
    "primarjour": "primary",
    "secondary": "secondary",
    "sekundar": "secondary",
    "bakjour": "secondary",
    "supervisor": "supervisor",
    "jourchef": "supervisor",
    "chef": "supervisor",
}


def role_word(text: str) -> str | None:
    """The roster role ("primary", "secondary" or "supervisor") a Swedish or English word names, or None.

    Staff write roles in Swedish in chat and in calendars made by hand, the roster files and exports use English;
    one table keeps `!byt`, .ics import and anything else that reads a role agreeing on which words are roles.
    """
    return _ROLE_WORDS.get(normalize(text))
