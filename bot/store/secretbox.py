"""Authenticated encryption of sensitive fields at rest (alarm free text, outgoing pages), and the keys derived from
the data key.

The key comes from a secret kept apart from the database, so a copied database alone reveals no free text. The secret
is stretched with scrypt and a salt kept beside the database (`jourbot.db.salt`: not secret, but needed), so a
stolen database cannot be tried against a table of guesses made in advance, and each guess costs real work. Every key
used is derived from that stretched secret with HKDF under a label of its own: the fields' key ("data") and the audit
trail's MAC key ("audit-mac") never coincide.

Fields written before the salt (prefix `v1:`, HKDF of the bare secret) are still read; they are written anew under
the salted key when `jourbot keys rotate-data` re-seals everything.
"""

from __future__ import annotations

import base64
import functools
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

_LEGACY = "v1:"  # HKDF of the bare secret, no salt (before the salt)
_PREFIX = "v2:"  # HKDF of scrypt(secret, salt)
SALT_BYTES = 16
# scrypt's cost: 16 MiB and some 50 ms once per start (the result is kept in memory).
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


class DecryptionError(Exception):
    """The ciphertext was altered or the key is not the one it was written with."""


def derive_key(secret: str, purpose: str) -> bytes:
    """The key before the salt: HKDF of the bare secret (fields sealed `v1:` were written with it)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"jourbot/{purpose}".encode()).derive(
        secret.encode()
    )


@functools.lru_cache(maxsize=16)
def _stretched(secret: str, salt: bytes) -> bytes:
    return Scrypt(salt=salt, length=32, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P).derive(secret.encode())


def _hkdf(material: bytes, label: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"jourbot/{label}".encode()).derive(material)


class SecretBox:
    def __init__(self, secret: str, purpose: str = "data", salt: bytes = b"") -> None:
        self._secret = secret
        self._purpose = purpose
        self.salt = salt
        self._aead = AESGCM(_hkdf(_stretched(secret, salt), purpose))
        self._legacy: AESGCM | None = None

    def salted(self, salt: bytes) -> SecretBox:
        """The same secret stretched with `salt` (the one kept beside the database)."""
        return self if salt == self.salt else SecretBox(self._secret, self._purpose, salt)

    def derive(self, label: str) -> bytes:
        """A key of its own for `label` (e.g. "audit-mac"), from the stretched secret."""
        if label == self._purpose:
            raise ValueError("a derived key must not be the fields' own")
        return _hkdf(_stretched(self._secret, self.salt), label)

    def seal(self, plaintext: str, context: str = "") -> str:
        """Encrypt; `context` (e.g. the row id) is bound in so a ciphertext cannot be moved to another row."""
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), context.encode())
        return _PREFIX + base64.b64encode(nonce + sealed).decode()

    def open(self, token: str, context: str = "") -> str:
        if token.startswith(_PREFIX):
            aead, raw = self._aead, base64.b64decode(token[len(_PREFIX):])
        elif token.startswith(_LEGACY):
            if self._legacy is None:
                self._legacy = AESGCM(derive_key(self._secret, self._purpose))
            aead, raw = self._legacy, base64.b64decode(token[len(_LEGACY):])
        else:
            raise DecryptionError("unknown format")
        try:
            return aead.decrypt(raw[:12], raw[12:], context.encode()).decode()
        except InvalidTag as err:
            raise DecryptionError("wrong key or altered data") from err
