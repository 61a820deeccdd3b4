"""Which devices of a user to trust, from a ``/keys/query`` response (pure: no I/O, no state).

``tofu`` trusts every device whose keys are validly self-signed, like nio's default handling.
``cross-signed`` trusts only devices the owner has cross-signed: the device keys carry a valid signature of the
user's self-signing key, which itself carries a valid signature of the user's master key. That mirrors what
Element does since April 2026 and keeps a device injected by a compromised homeserver out of the alarm rooms.

Nothing here decides whether the master key itself belongs to the person (that needs interactive verification);
it only checks that each link of the chain was signed by the key it claims.
"""

from __future__ import annotations

from typing import Any, Literal

from bot.matrix.signing import verify_json

Policy = Literal["tofu", "cross-signed"]
POLICIES: tuple[str, ...] = ("tofu", "cross-signed")


def _cross_signing_key(key_object: Any, user_id: str, usage: str) -> str | None:
    """The ed25519 public key of a well-formed cross-signing key object for ``user_id`` and ``usage``."""
    if not isinstance(key_object, dict) or key_object.get("user_id") != user_id:
        return None
    usages = key_object.get("usage")
    if not isinstance(usages, list) or usage not in usages:
        return None
    keys = key_object.get("keys")
    if not isinstance(keys, dict):
        return None
    ed_keys = [(key_id, value) for key_id, value in keys.items() if str(key_id).startswith("ed25519:")]
    if len(ed_keys) != 1:
        return None
    key_id, public = ed_keys[0]
    # The spec names the key by itself ("ed25519:<pubkey>"); a mismatch means the object was tampered with.
    if not isinstance(public, str) or key_id != f"ed25519:{public}":
        return None
    return public


def _user_devices(response: dict[str, Any], user_id: str) -> dict[str, Any]:
    devices = (response.get("device_keys") or {}).get(user_id) if isinstance(response, dict) else None
    return devices if isinstance(devices, dict) else {}


def _self_signed_ed25519(device_keys: Any, user_id: str, device_id: str) -> str | None:
    """The device's ed25519 key if the keys name this user and device and are validly signed by that key."""
    if not isinstance(device_keys, dict):
        return None
    if device_keys.get("user_id") != user_id or device_keys.get("device_id") != device_id:
        return None
    keys = device_keys.get("keys")
    ed25519 = keys.get(f"ed25519:{device_id}") if isinstance(keys, dict) else None
    if not isinstance(ed25519, str):
        return None
    if not verify_json(device_keys, user_id, f"ed25519:{device_id}", ed25519):
        return None
    return ed25519


def self_signed_devices(keys_query_response: dict[str, Any], user_id: str) -> set[str]:
    """Device ids of ``user_id`` whose device keys are well-formed and validly self-signed."""
    return {
        device_id
        for device_id, device_keys in _user_devices(keys_query_response, user_id).items()
        if _self_signed_ed25519(device_keys, user_id, device_id) is not None
    }


def self_signing_key(keys_query_response: dict[str, Any], user_id: str) -> str | None:
    """The user's self-signing public key if it is validly signed by the user's master key, else None."""
    if not isinstance(keys_query_response, dict):
        return None
    master = _cross_signing_key((keys_query_response.get("master_keys") or {}).get(user_id), user_id, "master")
    ssk_object = (keys_query_response.get("self_signing_keys") or {}).get(user_id)
    ssk = _cross_signing_key(ssk_object, user_id, "self_signing")
    if master is None or ssk is None or not isinstance(ssk_object, dict):
        return None
    if not verify_json(ssk_object, user_id, f"ed25519:{master}", master):
        return None
    return ssk


def cross_signed_devices(keys_query_response: dict[str, Any], user_id: str) -> set[str]:
    """Device ids of ``user_id`` signed by the user's self-signing key, itself signed by the master key."""
    ssk = self_signing_key(keys_query_response, user_id)
    if ssk is None:
        return set()
    return {
        device_id
        for device_id, device_keys in _user_devices(keys_query_response, user_id).items()
        if _self_signed_ed25519(device_keys, user_id, device_id) is not None
        and verify_json(device_keys, user_id, f"ed25519:{ssk}", ssk)
    }


def master_key(response: dict[str, Any], user_id: str) -> str | None:
    """The user's cross-signing master key as the homeserver lists it (None: the user has no identity).

    Nothing vouches for it but the homeserver's word: it is what an identity pin (bot/trust/) is compared with."""
    if not isinstance(response, dict):
        return None
    return _cross_signing_key((response.get("master_keys") or {}).get(user_id), user_id, "master")


def device_keys_of(response: dict[str, Any], user_id: str) -> dict[str, tuple[str, str]]:
    """device id → (curve25519, ed25519) of every device of ``user_id`` whose keys are validly self-signed."""
    out: dict[str, tuple[str, str]] = {}
    for device_id, device_keys in _user_devices(response, user_id).items():
        ed25519 = _self_signed_ed25519(device_keys, user_id, device_id)
        keys = device_keys.get("keys") if isinstance(device_keys, dict) else None
        curve = keys.get(f"curve25519:{device_id}") if isinstance(keys, dict) else None
        if ed25519 is not None and isinstance(curve, str):
            out[str(device_id)] = (curve, ed25519)
    return out
