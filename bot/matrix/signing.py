"""Signed JSON as the Matrix spec defines it (appendix "Signing JSON"): canonical JSON, Ed25519 signatures,
unpadded base64. Pure: no I/O. Used to make the bot's cross-signatures and to check other people's."""

from __future__ import annotations

import base64
import json
import math
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

_MAX_SAFE_INT = 2**53 - 1


def b64encode(data: bytes) -> str:
    """Unpadded standard base64, as the Matrix spec uses for keys and signatures."""
    return base64.b64encode(data).decode("ascii").rstrip("=")


def b64decode(text: str) -> bytes:
    """Decode standard base64 with or without padding (the spec asks decoders to accept both)."""
    if not isinstance(text, str):
        raise ValueError("base64 value must be a string")
    text = text.strip()
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _canonical_value(value: Any) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError("canonical JSON object keys must be strings")
            out[key] = _canonical_value(item)
        return out
    if isinstance(value, list | tuple):
        return [_canonical_value(item) for item in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, float):
        # JSON parsers hand us 1e10 and -0 as floats; the spec wants them as plain integers.
        if not math.isfinite(value) or not value.is_integer():
            raise ValueError("canonical JSON allows only integers, not floats")
        value = int(value)
    if isinstance(value, int):
        if not -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT:
            raise ValueError("canonical JSON integers must be within [-(2**53)+1, (2**53)-1]")
        return value
    raise ValueError(f"canonical JSON cannot encode {type(value).__name__}")


def canonical_json(obj: Any) -> bytes:
    """Encode ``obj`` as Matrix canonical JSON: sorted keys, no whitespace, UTF-8, integers only."""
    return json.dumps(
        _canonical_value(obj),
        ensure_ascii=False,
        separators=(",", ":"),
        sort_keys=True,
        allow_nan=False,
    ).encode("utf-8")


def _signable(obj: dict[str, Any]) -> bytes:
    return canonical_json({k: v for k, v in obj.items() if k not in ("signatures", "unsigned")})


def sign_json(obj: dict[str, Any], user_id: str, key_id: str, private_key: Ed25519PrivateKey) -> dict[str, Any]:
    """Return a copy of ``obj`` with an ed25519 signature added under ``signatures[user_id][key_id]``.

    Existing signatures (from other keys or entities) and ``unsigned`` are kept; neither is covered.
    """
    signature = b64encode(private_key.sign(_signable(obj)))
    signed: dict[str, Any] = json.loads(json.dumps(obj))  # deep copy: callers pass server responses they still use
    signatures = signed.setdefault("signatures", {})
    if not isinstance(signatures, dict):
        raise ValueError("'signatures' must be an object")
    signatures.setdefault(user_id, {})[key_id] = signature
    return signed


def verify_json(obj: dict[str, Any], user_id: str, key_id: str, public_key_b64: str) -> bool:
    """True if ``obj`` carries a valid ed25519 signature by ``public_key_b64`` under ``signatures[user_id][key_id]``."""
    try:
        signature_b64 = obj["signatures"][user_id][key_id]
        signature = b64decode(signature_b64)
        public_key = Ed25519PublicKey.from_public_bytes(b64decode(public_key_b64))
        public_key.verify(signature, _signable(obj))
    except (KeyError, TypeError, ValueError, InvalidSignature):
        return False
    return True


def format_fingerprint(pubkey_b64: str) -> str:
    """Group a base64 public key in blocks of four, as Element shows key fingerprints to humans."""
    return " ".join(pubkey_b64[i : i + 4] for i in range(0, len(pubkey_b64), 4))
