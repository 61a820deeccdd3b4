"""Authenticated encryption of sensitive fields at rest (alarm free text, outgoing pages).

The key comes from a secret kept apart from the database, so a copied database alone reveals no free text.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_PREFIX = "v1:"


class DecryptionError(Exception):
    """The ciphertext was altered or the key is not the one it was written with."""


def derive_key(secret: str, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"jourbot/{purpose}".encode()).derive(
        secret.encode()
    )


class SecretBox:
    def __init__(self, secret: str, purpose: str = "data") -> None:
        self._aead = AESGCM(derive_key(secret, purpose))

    def seal(self, plaintext: str, context: str = "") -> str:
        """Encrypt; `context` (e.g. the row id) is bound in so a ciphertext cannot be moved to another row."""
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), context.encode())
        return _PREFIX + base64.b64encode(nonce + sealed).decode()

    def open(self, token: str, context: str = "") -> str:
        if not token.startswith(_PREFIX):
            raise DecryptionError("unknown format")
        raw = base64.b64decode(token[len(_PREFIX) :])
        try:
            return self._aead.decrypt(raw[:12], raw[12:], context.encode()).decode()
        except InvalidTag as err:
            raise DecryptionError("wrong key or altered data") from err
