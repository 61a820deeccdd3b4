"""Canonical JSON, JSON signing, the encrypted key file, and ensure_cross_signing against a fake homeserver."""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path

import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bot.matrix.crosssign import (
    CrossSigningError,
    CrossSigningKeys,
    IdentityRefused,
    KeyFileError,
    UserInteractiveAuthRequired,
    cross_signing_status,
    ensure_cross_signing,
    load_keys,
    save_keys,
)
from bot.matrix.device_trust import cross_signed_devices
from bot.matrix.signing import b64decode, b64encode, canonical_json, format_fingerprint, sign_json, verify_json

# --------------------------------------------------------------------------- spec appendix vectors

# Matrix spec, Appendices, "Canonical JSON" examples: (input as published, expected canonical output).
CANONICAL_EXAMPLES = [
    ("{}", "{}"),
    ('{\n    "one": 1,\n    "two": "Two"\n}', '{"one":1,"two":"Two"}'),
    ('{\n    "b": "2",\n    "a": "1"\n}', '{"a":"1","b":"2"}'),
    ('{"b":"2","a":"1"}', '{"a":"1","b":"2"}'),
    (
        """{
    "auth": {
        "success": true,
        "mxid": "@john.doe:example.com",
        "profile": {
            "display_name": "John Doe",
            "three_pids": [
                {
                    "medium": "email",
                    "address": "john.doe@example.org"
                },
                {
                    "medium": "msisdn",
                    "address": "123456789"
                }
            ]
        }
    }
}""",
        '{"auth":{"mxid":"@john.doe:example.com","profile":{"display_name":"John Doe","three_pids":'
        '[{"address":"john.doe@example.org","medium":"email"},{"address":"123456789","medium":"msisdn"}]},'
        '"success":true}}',
    ),
    ('{\n    "a": "日本語"\n}', '{"a":"日本語"}'),
    ('{\n    "本": 2,\n    "日": 1\n}', '{"日":1,"本":2}'),
    ('{\n    "a": "\\u65E5"\n}', '{"a":"日"}'),
    ('{\n    "a": null\n}', '{"a":null}'),
    ('{\n    "a": -0,\n    "b": 1e10\n}', '{"a":0,"b":10000000000}'),
]

# Matrix spec, Appendices, "Cryptographic Test Vectors": seed, entity "domain", key id "ed25519:1".
SPEC_SEED = "YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1"
SPEC_SIG_EMPTY = "K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ"
SPEC_SIG_ONE_TWO = "KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw"


def _spec_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(b64decode(SPEC_SEED))


def _spec_pub() -> str:
    return b64encode(_spec_key().public_key().public_bytes_raw())


@pytest.mark.parametrize(("given", "expected"), CANONICAL_EXAMPLES)
def test_canonical_json_spec_examples(given, expected):
    assert canonical_json(json.loads(given)) == expected.encode("utf-8")


def test_canonical_json_refuses_what_the_spec_forbids():
    with pytest.raises(ValueError):
        canonical_json({"a": 1.5})
    with pytest.raises(ValueError):
        canonical_json({"a": 2**53})
    with pytest.raises(ValueError):
        canonical_json({"a": float("nan")})
    with pytest.raises(ValueError):
        canonical_json({1: "non-string key"})
    assert canonical_json({"a": -(2**53) + 1}) == b'{"a":-9007199254740991}'


def test_canonical_json_escapes_only_what_it_must():
    assert canonical_json({"a": 'q"\\\n\x01/é'}) == '{"a":"q\\"\\\\\\n\\u0001/é"}'.encode()


def test_unpadded_base64_spec_examples():
    pairs = [(b"", ""), (b"f", "Zg"), (b"fo", "Zm8"), (b"foo", "Zm9v"), (b"foob", "Zm9vYg"), (b"fooba", "Zm9vYmE")]
    for raw, encoded in pairs + [(b"foobar", "Zm9vYmFy")]:
        assert b64encode(raw) == encoded
        assert b64decode(encoded) == raw
        assert b64decode(encoded + "=" * (-len(encoded) % 4)) == raw  # padded input is accepted too


def test_sign_json_spec_vector_empty_object():
    assert sign_json({}, "domain", "ed25519:1", _spec_key()) == {
        "signatures": {"domain": {"ed25519:1": SPEC_SIG_EMPTY}}
    }


def test_sign_json_spec_vector_with_data():
    signed = sign_json({"one": 1, "two": "Two"}, "domain", "ed25519:1", _spec_key())
    assert signed == {"one": 1, "signatures": {"domain": {"ed25519:1": SPEC_SIG_ONE_TWO}}, "two": "Two"}


def test_verify_json_spec_vectors():
    pub = _spec_pub()
    assert verify_json({"signatures": {"domain": {"ed25519:1": SPEC_SIG_EMPTY}}}, "domain", "ed25519:1", pub)
    good = {"one": 1, "signatures": {"domain": {"ed25519:1": SPEC_SIG_ONE_TWO}}, "two": "Two"}
    assert verify_json(good, "domain", "ed25519:1", pub)
    assert not verify_json(good | {"two": "Three"}, "domain", "ed25519:1", pub)
    assert not verify_json(good, "other", "ed25519:1", pub)
    assert not verify_json(good, "domain", "ed25519:2", pub)
    assert not verify_json(good, "domain", "ed25519:1", b64encode(os.urandom(32)))
    assert not verify_json(good, "domain", "ed25519:1", "not-a-key")


def test_sign_json_keeps_other_signatures_and_unsigned_out_of_the_signature():
    key = _spec_key()
    obj = {"one": 1, "two": "Two", "unsigned": {"age_ts": 5}, "signatures": {"elsewhere": {"ed25519:x": "abc"}}}
    signed = sign_json(obj, "domain", "ed25519:1", key)
    assert signed["signatures"]["domain"]["ed25519:1"] == SPEC_SIG_ONE_TWO  # unsigned/signatures not covered
    assert signed["signatures"]["elsewhere"] == {"ed25519:x": "abc"}
    assert signed["unsigned"] == {"age_ts": 5}
    assert "domain" not in obj["signatures"], "the input is not mutated"
    assert verify_json(signed | {"unsigned": {"age_ts": 99}}, "domain", "ed25519:1", _spec_pub())


def test_verify_rejects_a_tampered_signature():
    signed = sign_json({"one": 1}, "domain", "ed25519:1", _spec_key())
    sig = bytearray(b64decode(signed["signatures"]["domain"]["ed25519:1"]))
    sig[0] ^= 1
    signed["signatures"]["domain"]["ed25519:1"] = b64encode(bytes(sig))
    assert not verify_json(signed, "domain", "ed25519:1", _spec_pub())


def test_format_fingerprint_groups_of_four():
    assert format_fingerprint("abcdefghij") == "abcd efgh ij"
    pub = _spec_pub()
    assert format_fingerprint(pub).replace(" ", "") == pub
    assert all(len(group) == 4 for group in format_fingerprint(pub).split(" ")[:-1])


# --------------------------------------------------------------------------- key objects


def test_key_objects_follow_the_spec_and_chain_to_master():
    cs = CrossSigningKeys.generate()
    user = "@bot:localhost"
    objs = cs.key_objects(user)
    m, s, u = cs.master_public, cs.self_signing_public, cs.user_signing_public
    assert objs["master_key"] == {"user_id": user, "usage": ["master"], "keys": {f"ed25519:{m}": m}}
    assert objs["self_signing_key"]["usage"] == ["self_signing"]
    assert objs["self_signing_key"]["keys"] == {f"ed25519:{s}": s}
    assert objs["user_signing_key"]["usage"] == ["user_signing"]
    assert objs["user_signing_key"]["keys"] == {f"ed25519:{u}": u}
    for name in ("self_signing_key", "user_signing_key"):
        assert verify_json(objs[name], user, f"ed25519:{m}", m)
        assert list(objs[name]["signatures"][user]) == [f"ed25519:{m}"]
    assert len({m, s, u}) == 3


# --------------------------------------------------------------------------- key file


def test_key_file_round_trip_mode_0600(tmp_path):
    path = tmp_path / "sub" / "crosssign.json"
    cs = CrossSigningKeys.generate()
    save_keys(cs, path, "pickle-secret", "@bot:localhost")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    loaded = load_keys(path, "pickle-secret", "@bot:localhost")
    assert (loaded.master_public, loaded.self_signing_public, loaded.user_signing_public) == (
        cs.master_public,
        cs.self_signing_public,
        cs.user_signing_public,
    )
    assert [p.name for p in path.parent.iterdir()] == ["crosssign.json"], "no temporary files left behind"


def test_key_file_holds_no_private_key_in_clear(tmp_path):
    path = tmp_path / "cs.json"
    cs = CrossSigningKeys.generate()
    save_keys(cs, path, "pickle-secret", "@bot:localhost")
    text = path.read_text()
    for key in (cs.master, cs.self_signing, cs.user_signing):
        assert b64encode(key.private_bytes_raw()) not in text
    assert "pickle-secret" not in text


def test_key_file_wrong_secret_is_refused(tmp_path):
    path = tmp_path / "cs.json"
    save_keys(CrossSigningKeys.generate(), path, "right", "@bot:localhost")
    with pytest.raises(KeyFileError, match="wrong secret"):
        load_keys(path, "wrong", "@bot:localhost")
    with pytest.raises(KeyFileError):
        load_keys(path, "", "@bot:localhost")


def test_key_file_of_another_account_is_refused(tmp_path):
    path = tmp_path / "cs.json"
    save_keys(CrossSigningKeys.generate(), path, "s", "@bot:localhost")
    with pytest.raises(KeyFileError, match="not '@other:localhost'"):
        load_keys(path, "s", "@other:localhost")


def test_key_file_with_altered_header_is_refused(tmp_path):
    path = tmp_path / "cs.json"
    save_keys(CrossSigningKeys.generate(), path, "s", "@bot:localhost")
    doc = json.loads(path.read_text())
    doc["header"]["kdf"]["n"] = 2**14  # a downgrade attempt: the header is authenticated
    path.write_text(json.dumps(doc))
    with pytest.raises(KeyFileError, match="wrong secret, or the file was altered"):
        load_keys(path, "s", "@bot:localhost")


def test_corrupt_key_file_is_refused(tmp_path):
    path = tmp_path / "cs.json"
    path.write_text("{not json")
    os.chmod(path, 0o600)
    with pytest.raises(KeyFileError, match="corrupt"):
        load_keys(path, "s", "@bot:localhost")


def test_loose_key_file_mode_is_tightened(tmp_path):
    path = tmp_path / "cs.json"
    save_keys(CrossSigningKeys.generate(), path, "s", "@bot:localhost")
    os.chmod(path, 0o644)
    load_keys(path, "s", "@bot:localhost")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


# --------------------------------------------------------------------------- fake homeserver

USER = "@bot:localhost"
TOKEN = "syt_secret_token_value"
PASSWORD = "hunter2-password-value"
SECRET = "pickle-key-secret-value"


class FakeHomeserver:
    """Just enough of the keys API, with Synapse's UIA rule: replacing a master key needs a password."""

    def __init__(self) -> None:
        self.device_keys: dict[str, dict] = {}
        self.cross: dict[str, dict] = {}
        self.calls: list[str] = []
        self.rate_limit_next = 0
        self.uia_sessions = 0
        self.uia_stages = ["m.login.password"]
        self.token_expired_on_upload = False

    def add_device(self, device_id: str, key: Ed25519PrivateKey | None = None) -> Ed25519PrivateKey:
        key = key or Ed25519PrivateKey.generate()
        pub = b64encode(key.public_key().public_bytes_raw())
        keys = {
            "user_id": USER,
            "device_id": device_id,
            "algorithms": ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
            "keys": {f"curve25519:{device_id}": b64encode(os.urandom(32)), f"ed25519:{device_id}": pub},
        }
        self.device_keys[device_id] = sign_json(keys, USER, f"ed25519:{device_id}", key)
        return key

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/_matrix/client/v3/keys/query", self.query)
        app.router.add_post("/_matrix/client/v3/keys/device_signing/upload", self.upload)
        app.router.add_post("/_matrix/client/v3/keys/signatures/upload", self.signatures)
        return app

    def _authorised(self, request: web.Request) -> None:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            raise web.HTTPUnauthorized(text='{"errcode":"M_UNKNOWN_TOKEN"}', content_type="application/json")

    async def query(self, request: web.Request) -> web.Response:
        self._authorised(request)
        self.calls.append("query")
        if self.rate_limit_next:
            self.rate_limit_next -= 1
            return web.json_response({"errcode": "M_LIMIT_EXCEEDED", "retry_after_ms": 10}, status=429)
        body = await request.json()
        assert USER in body["device_keys"]
        resp: dict = {"failures": {}, "device_keys": {USER: json.loads(json.dumps(self.device_keys))}}
        for field, name in (
            ("master_keys", "master_key"),
            ("self_signing_keys", "self_signing_key"),
            ("user_signing_keys", "user_signing_key"),
        ):
            if name in self.cross:
                resp[field] = {USER: self.cross[name]}
        return web.json_response(resp)

    async def upload(self, request: web.Request) -> web.Response:
        self._authorised(request)
        self.calls.append("device_signing")
        if self.token_expired_on_upload:
            return web.json_response({"errcode": "M_UNKNOWN_TOKEN", "error": "expired"}, status=401)
        body = await request.json()
        if "master_key" in self.cross and self.cross["master_key"] != body["master_key"]:
            auth = body.get("auth")
            if auth is None:
                self.uia_sessions += 1
                return web.json_response(
                    {"flows": [{"stages": self.uia_stages}], "params": {}, "session": f"S{self.uia_sessions}"},
                    status=401,
                )
            ok = (
                auth.get("type") == "m.login.password"
                and auth.get("password") == PASSWORD
                and auth.get("identifier") == {"type": "m.id.user", "user": USER}
                and auth.get("session") == f"S{self.uia_sessions}"
            )
            if not ok:
                return web.json_response({"errcode": "M_FORBIDDEN", "error": "Invalid password"}, status=401)
        for name in ("master_key", "self_signing_key", "user_signing_key"):
            self.cross[name] = body[name]
        return web.json_response({})

    async def signatures(self, request: web.Request) -> web.Response:
        self._authorised(request)
        self.calls.append("signatures")
        body = await request.json()
        for device_id, signed in body[USER].items():
            stored = self.device_keys[device_id]
            bare = {k: v for k, v in signed.items() if k not in ("signatures", "unsigned")}
            if bare != {k: v for k, v in stored.items() if k not in ("signatures", "unsigned")}:
                return web.json_response({"failures": {USER: {device_id: {"errcode": "M_INVALID_SIGNATURE"}}}})
            stored["signatures"][USER].update(signed["signatures"][USER])
        return web.json_response({"failures": {}})


async def _ensure(url: str, device_id: str, key_file: Path, password: str | None = PASSWORD, **kw):
    return await ensure_cross_signing(url, TOKEN, USER, device_id, password, key_file, SECRET, **kw)


def _fake_query(fake: FakeHomeserver) -> dict:
    return {
        "device_keys": {USER: fake.device_keys},
        "master_keys": {USER: fake.cross["master_key"]},
        "self_signing_keys": {USER: fake.cross["self_signing_key"]},
    }


async def test_first_run_uploads_and_signs_then_restart_does_nothing(homeserver, tmp_path):
    fake, url = homeserver
    device_key = fake.add_device("DEV1")
    key_file = tmp_path / "cs.json"
    status = await _ensure(url, "DEV1", key_file, device_ed25519=b64encode(device_key.public_key().public_bytes_raw()))
    assert status.generated_keys and status.uploaded_keys and status.signed_device_now and status.device_signed
    assert status.master_fingerprint == format_fingerprint(status.master_key)
    assert cross_signed_devices(_fake_query(fake), USER) == {"DEV1"}
    assert fake.uia_sessions == 0
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    fake.calls.clear()
    again = await _ensure(url, "DEV1", key_file)
    assert (again.generated_keys, again.uploaded_keys, again.signed_device_now, again.device_signed) == (
        False,
        False,
        False,
        True,
    )
    assert again.master_key == status.master_key
    assert fake.calls == ["query"]


async def test_new_device_is_signed_with_the_same_keys(homeserver, tmp_path):
    fake, url = homeserver
    fake.add_device("OLD")
    key_file = tmp_path / "cs.json"
    first = await _ensure(url, "OLD", key_file)
    fake.add_device("NEW")  # the nio store was lost: a new login, a new device
    second = await _ensure(url, "NEW", key_file)
    assert second.master_key == first.master_key
    assert second.self_signing_key == first.self_signing_key
    assert not second.uploaded_keys and second.signed_device_now
    assert cross_signed_devices(_fake_query(fake), USER) == {"OLD", "NEW"}
    assert fake.uia_sessions == 0


async def test_lost_key_file_is_refused_not_replaced(homeserver, tmp_path):
    fake, url = homeserver
    fake.add_device("DEV1")
    first = await _ensure(url, "DEV1", tmp_path / "a.json")
    fake.calls.clear()
    with pytest.raises(IdentityRefused, match="crosssign reset") as refused:
        await _ensure(url, "DEV1", tmp_path / "b.json")
    assert format_fingerprint(first.master_key) in str(refused.value)
    assert fake.calls == ["query"] and not (tmp_path / "b.json").exists()
    assert fake.cross["master_key"]["keys"] == {f"ed25519:{first.master_key}": first.master_key}


async def test_key_file_of_another_identity_is_refused(homeserver, tmp_path):
    fake, url = homeserver
    fake.add_device("DEV1")
    await _ensure(url, "DEV1", tmp_path / "a.json")
    save_keys(CrossSigningKeys.generate(), tmp_path / "b.json", SECRET, USER)
    with pytest.raises(IdentityRefused, match="not the identity the homeserver has"):
        await _ensure(url, "DEV1", tmp_path / "b.json")


async def test_reset_replaces_identity_with_password_uia(homeserver, tmp_path):
    fake, url = homeserver
    fake.add_device("DEV1")
    first = await _ensure(url, "DEV1", tmp_path / "a.json")
    with pytest.raises(UserInteractiveAuthRequired, match="password"):
        await _ensure(url, "DEV1", tmp_path / "b.json", password=None, reset=True)
    assert fake.cross["master_key"]["keys"] == {f"ed25519:{first.master_key}": first.master_key}
    replaced = await _ensure(url, "DEV1", tmp_path / "b.json", reset=True)
    assert replaced.uploaded_keys and replaced.master_key != first.master_key
    assert replaced.signed_device_now and replaced.device_signed
    assert fake.uia_sessions == 2


async def test_wrong_password_is_reported(homeserver, tmp_path):
    fake, url = homeserver
    fake.add_device("DEV1")
    await _ensure(url, "DEV1", tmp_path / "a.json")
    with pytest.raises(UserInteractiveAuthRequired, match="refused"):
        await _ensure(url, "DEV1", tmp_path / "b.json", password="wrong", reset=True)


async def test_delegated_auth_reset_is_explained(homeserver, tmp_path):
    fake, url = homeserver
    fake.add_device("DEV1")
    await _ensure(url, "DEV1", tmp_path / "a.json")
    fake.uia_stages = ["org.matrix.cross_signing_reset"]
    with pytest.raises(UserInteractiveAuthRequired, match="account management"):
        await _ensure(url, "DEV1", tmp_path / "b.json", reset=True)


async def test_plain_401_on_upload_is_not_mistaken_for_an_auth_challenge(homeserver, tmp_path):
    fake, url = homeserver
    fake.add_device("DEV1")
    fake.token_expired_on_upload = True
    with pytest.raises(CrossSigningError, match="401 M_UNKNOWN_TOKEN") as err:
        await _ensure(url, "DEV1", tmp_path / "a.json")
    assert not isinstance(err.value, UserInteractiveAuthRequired)


async def test_device_keys_not_uploaded_yet(homeserver, tmp_path):
    _, url = homeserver
    status = await _ensure(url, "MISSING", tmp_path / "cs.json")
    assert status.uploaded_keys and not status.device_signed and not status.signed_device_now
    assert "keys_upload" in status.detail


async def test_refuses_to_sign_keys_that_are_not_the_local_account(homeserver, tmp_path):
    fake, url = homeserver
    fake.add_device("DEV1")
    with pytest.raises(CrossSigningError, match="do not match the local olm account"):
        await _ensure(url, "DEV1", tmp_path / "cs.json", device_ed25519=b64encode(os.urandom(32)))
    assert "signatures" not in fake.calls


async def test_refuses_to_sign_device_keys_without_valid_self_signature(homeserver, tmp_path):
    fake, url = homeserver
    fake.add_device("DEV1")
    fake.device_keys["DEV1"]["keys"]["curve25519:DEV1"] = b64encode(os.urandom(32))  # swapped by the server
    with pytest.raises(CrossSigningError, match="not validly self-signed"):
        await _ensure(url, "DEV1", tmp_path / "cs.json")
    assert "signatures" not in fake.calls


async def test_rate_limit_is_retried(homeserver, tmp_path):
    fake, url = homeserver
    fake.add_device("DEV1")
    fake.rate_limit_next = 2
    status = await _ensure(url, "DEV1", tmp_path / "cs.json")
    assert status.device_signed


async def test_bad_token_fails_cleanly_without_leaking_it(homeserver, tmp_path):
    _, url = homeserver
    with pytest.raises(CrossSigningError) as err:
        await ensure_cross_signing(url, "nope-token", USER, "D", None, tmp_path / "cs.json", SECRET)
    assert "401" in str(err.value) and "nope-token" not in str(err.value)


async def test_unreachable_homeserver_is_a_cross_signing_error(tmp_path):
    with pytest.raises(CrossSigningError, match="failed"):
        await ensure_cross_signing("http://127.0.0.1:9", TOKEN, USER, "D", None, tmp_path / "cs.json", SECRET)


async def test_secrets_never_reach_the_log(homeserver, tmp_path, caplog):
    fake, url = homeserver
    fake.add_device("DEV1")
    caplog.set_level(logging.DEBUG)
    await _ensure(url, "DEV1", tmp_path / "a.json")
    await _ensure(url, "DEV1", tmp_path / "b.json", reset=True)  # replacement with UIA: the password is sent
    fake.add_device("DEV2")
    await _ensure(url, "DEV2", tmp_path / "b.json")
    keys = load_keys(tmp_path / "b.json", SECRET, USER)
    text = caplog.text
    assert "uploaded cross-signing keys" in text
    for secret in (
        TOKEN,
        PASSWORD,
        SECRET,
        *(b64encode(k.private_bytes_raw()) for k in (keys.master, keys.self_signing)),
    ):
        assert secret not in text


async def test_status_is_read_only(homeserver, tmp_path):
    fake, url = homeserver
    fake.add_device("DEV1")
    key_file = tmp_path / "cs.json"
    before = await cross_signing_status(url, TOKEN, USER, "DEV1", key_file, SECRET)
    assert before["ok"] is False and before["local_keys"] is False and before["server_master_key"] is None
    assert not key_file.exists()
    assert fake.calls == ["query"]

    status = await _ensure(url, "DEV1", key_file)
    after = await cross_signing_status(url, TOKEN, USER, "DEV1", key_file, SECRET)
    assert after["ok"] is True and after["keys_match"] is True and after["device_signed"] is True
    assert after["local_master_key"] == after["server_master_key"] == status.master_key
    assert after["server_master_fingerprint"] == format_fingerprint(status.master_key)
    assert after["cross_signed_devices"] == ["DEV1"] and after["devices"] == ["DEV1"]
    json.dumps(after)  # printable as JSON by the CLI
    with pytest.raises(KeyFileError):
        await cross_signing_status(url, TOKEN, USER, "DEV1", key_file, "wrong secret")
