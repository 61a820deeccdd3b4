"""Device trust from /keys/query responses: every link of the cross-signing chain must verify."""

from __future__ import annotations

import copy

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bot.matrix.crosssign import CrossSigningKeys
from bot.matrix.device_trust import (
    cross_signed_devices,
    self_signed_devices,
    self_signing_key,
)
from bot.matrix.signing import b64encode, sign_json

USER = "@bot:localhost"


def _pub(key: Ed25519PrivateKey) -> str:
    return b64encode(key.public_key().public_bytes_raw())


def _device_keys(user_id: str, device_id: str, key: Ed25519PrivateKey) -> dict:
    curve = b64encode(Ed25519PrivateKey.generate().public_key().public_bytes_raw())  # any 32 bytes will do
    keys = {
        "user_id": user_id,
        "device_id": device_id,
        "algorithms": ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
        "keys": {f"curve25519:{device_id}": curve, f"ed25519:{device_id}": _pub(key)},
    }
    return sign_json(keys, user_id, f"ed25519:{device_id}", key)


def _response(cs: CrossSigningKeys, devices: dict[str, dict]) -> dict:
    objects = cs.key_objects(USER)
    return {
        "failures": {},
        "device_keys": {USER: devices},
        "master_keys": {USER: objects["master_key"]},
        "self_signing_keys": {USER: objects["self_signing_key"]},
        "user_signing_keys": {USER: objects["user_signing_key"]},
    }


@pytest.fixture
def chain():
    """A user with cross-signing keys, one cross-signed device (SIGNED) and one plain device (PLAIN)."""
    cs = CrossSigningKeys.generate()
    # sign_json keeps the device's self-signature, as /keys/query returns both signatures together.
    signed = sign_json(
        _device_keys(USER, "SIGNED", Ed25519PrivateKey.generate()),
        USER,
        f"ed25519:{cs.self_signing_public}",
        cs.self_signing,
    )
    plain = _device_keys(USER, "PLAIN", Ed25519PrivateKey.generate())
    return cs, _response(cs, {"SIGNED": signed, "PLAIN": plain})


def test_valid_chain_yields_only_the_cross_signed_device(chain):
    cs, resp = chain
    assert self_signing_key(resp, USER) == cs.self_signing_public
    assert cross_signed_devices(resp, USER) == {"SIGNED"}


def test_tofu_takes_every_self_signed_device(chain):
    _, resp = chain
    assert self_signed_devices(resp, USER) == {"SIGNED", "PLAIN"}


def test_tampered_device_keys_are_rejected(chain):
    _, resp = chain
    bad = copy.deepcopy(resp)
    other = b64encode(Ed25519PrivateKey.generate().public_key().public_bytes_raw())
    bad["device_keys"][USER]["SIGNED"]["keys"]["curve25519:SIGNED"] = other
    assert cross_signed_devices(bad, USER) == set()
    assert self_signed_devices(bad, USER) == {"PLAIN"}


def test_tampered_ssk_signature_on_device_is_rejected(chain):
    cs, resp = chain
    bad = copy.deepcopy(resp)
    sigs = bad["device_keys"][USER]["SIGNED"]["signatures"][USER]
    key_id = f"ed25519:{cs.self_signing_public}"
    sig = sigs[key_id]
    sigs[key_id] = ("A" if sig[0] != "A" else "B") + sig[1:]
    assert cross_signed_devices(bad, USER) == set()


def test_garbage_signature_is_rejected_not_raised(chain):
    cs, resp = chain
    bad = copy.deepcopy(resp)
    bad["device_keys"][USER]["SIGNED"]["signatures"][USER][f"ed25519:{cs.self_signing_public}"] = "!!not base64"
    assert cross_signed_devices(bad, USER) == set()


def test_ssk_not_signed_by_master_is_rejected(chain):
    cs, resp = chain
    bad = copy.deepcopy(resp)
    bad["self_signing_keys"][USER]["signatures"] = {}
    assert self_signing_key(bad, USER) is None
    assert cross_signed_devices(bad, USER) == set()


def test_ssk_signed_by_another_key_under_the_master_key_id_is_rejected(chain):
    cs, resp = chain
    bad = copy.deepcopy(resp)
    intruder = Ed25519PrivateKey.generate()
    ssk = {k: v for k, v in bad["self_signing_keys"][USER].items() if k != "signatures"}
    bad["self_signing_keys"][USER] = sign_json(ssk, USER, f"ed25519:{cs.master_public}", intruder)
    assert cross_signed_devices(bad, USER) == set()


def test_replaced_master_key_breaks_the_chain(chain):
    _, resp = chain
    bad = copy.deepcopy(resp)
    other = CrossSigningKeys.generate()
    bad["master_keys"][USER] = other.key_objects(USER)["master_key"]
    assert cross_signed_devices(bad, USER) == set()


def test_swapped_ssk_breaks_the_chain(chain):
    cs, resp = chain
    bad = copy.deepcopy(resp)
    # An SSK validly signed by *another* master does not count under this user's master.
    other = CrossSigningKeys.generate()
    bad["self_signing_keys"][USER] = other.key_objects(USER)["self_signing_key"]
    assert cross_signed_devices(bad, USER) == set()


def test_device_signed_by_a_different_key_is_rejected(chain):
    cs, resp = chain
    bad = copy.deepcopy(resp)
    stranger = Ed25519PrivateKey.generate()
    plain = bad["device_keys"][USER]["PLAIN"]
    # Signed by a key that is not the SSK, filed under a made-up key id and under the SSK's key id.
    bare = {k: v for k, v in plain.items() if k != "signatures"}
    forged_other_id = sign_json(bare, USER, f"ed25519:{_pub(stranger)}", stranger)
    forged_ssk_id = sign_json(bare, USER, f"ed25519:{cs.self_signing_public}", stranger)
    for forged in (forged_other_id, forged_ssk_id):
        plain["signatures"][USER] = {**plain["signatures"][USER], **forged["signatures"][USER]}
        assert cross_signed_devices(bad, USER) == {"SIGNED"}


def test_device_signed_by_the_user_signing_key_is_rejected(chain):
    cs, resp = chain
    bad = copy.deepcopy(resp)
    plain = bad["device_keys"][USER]["PLAIN"]
    bare = {k: v for k, v in plain.items() if k != "signatures"}
    by_usk = sign_json(bare, USER, f"ed25519:{cs.user_signing_public}", cs.user_signing)
    plain["signatures"][USER].update(by_usk["signatures"][USER])
    assert cross_signed_devices(bad, USER) == {"SIGNED"}


def test_key_objects_for_another_user_or_usage_are_rejected(chain):
    _, resp = chain
    wrong_user = copy.deepcopy(resp)
    wrong_user["self_signing_keys"][USER]["user_id"] = "@mallory:localhost"
    assert cross_signed_devices(wrong_user, USER) == set()
    wrong_usage = copy.deepcopy(resp)
    wrong_usage["self_signing_keys"][USER]["usage"] = ["user_signing"]
    assert cross_signed_devices(wrong_usage, USER) == set()


def test_key_id_must_name_its_own_key(chain):
    cs, resp = chain
    bad = copy.deepcopy(resp)
    other = _pub(Ed25519PrivateKey.generate())
    bad["master_keys"][USER]["keys"] = {f"ed25519:{other}": cs.master_public}
    assert cross_signed_devices(bad, USER) == set()


def test_device_filed_under_another_device_id_is_rejected(chain):
    _, resp = chain
    bad = copy.deepcopy(resp)
    bad["device_keys"][USER]["OTHER"] = bad["device_keys"][USER].pop("SIGNED")
    assert cross_signed_devices(bad, USER) == set()
    assert self_signed_devices(bad, USER) == {"PLAIN"}


def test_missing_or_malformed_sections_give_no_devices():
    assert cross_signed_devices({}, USER) == set()
    assert self_signed_devices({}, USER) == set()
    assert cross_signed_devices({"device_keys": {USER: "nonsense"}, "master_keys": None}, USER) == set()
    assert cross_signed_devices({"device_keys": {USER: {"D": 5}}}, USER) == set()
