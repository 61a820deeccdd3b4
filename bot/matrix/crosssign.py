"""Cross-signing of the bot's own device.

Since April 2026 Element clients only exchange room keys with devices their owner has cross-signed
(element-meta #2709). matrix-nio has no cross-signing (matrix-nio #229), so without this module the bot never
receives the keys for ``!larm`` and its answers are refused by Element: alarms vanish silently.

What this module does, per the Matrix spec (client-server API, "Cross-signing"; appendix "Signing JSON"):

* keeps one set of cross-signing keys (master, self-signing, user-signing) for the bot's account, sealed in the
  database every instance shares (bot/store/cross_signing.py), apart from each instance's nio store, so every
  instance's device, and a device made anew after a lost nio store, is signed by the *same* identity and Element
  users see no identity change. An install from before keeps them in a key file in its state folder (encrypted
  with a key derived from the pickle key); they are copied into the database at its first start;
* makes new keys only for an account the homeserver knows no identity of: an identity on the homeserver that
  neither the database nor the key file holds is refused, never replaced, unless an operator asks for a reset
  (`jourbot crosssign reset`);
* uploads the public halves when the homeserver does not have them (handling user-interactive auth);
* signs the current device with the self-signing key.

Call :func:`ensure_cross_signing` after login and after nio has uploaded the device keys (``keys_upload``);
the device keys must be on the server before they can be signed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from bot.matrix.device_trust import cross_signed_devices
from bot.matrix.signing import b64decode, b64encode, canonical_json, format_fingerprint, sign_json, verify_json
from bot.store.cross_signing import HeldKeys, OwnIdentity, SealedKeysUnreadable
from bot.store.files import write_private

log = logging.getLogger(__name__)

CLIENT_API = "/_matrix/client/v3"
KEY_FILE_FORMAT = "jourbot-cross-signing-keys"
KEY_FILE_VERSION = 1
# scrypt cost: about 0.1 s and 32 MiB once per start; the secret may be a human-chosen pickle key, so a fast
# KDF such as bare HKDF would make an offline guess against a stolen key file cheap.
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1
HTTP_TIMEOUT = aiohttp.ClientTimeout(total=30, connect=10)
MAX_RATE_LIMIT_RETRIES = 3
MAX_RATE_LIMIT_SLEEP = 5.0


class CrossSigningError(Exception):
    """Cross-signing could not be set up; the message is safe to log (no secrets)."""


class KeyFileError(CrossSigningError):
    """The key file is unreadable, corrupt, for another account, or the secret is wrong."""


class UserInteractiveAuthRequired(CrossSigningError):
    """The homeserver wants user-interactive auth that this module cannot complete on its own."""


class IdentityRefused(CrossSigningError):
    """The homeserver's identity of the account is not one these keys are: retrying will not help, an operator must
    restore the keys (or reset the identity on purpose)."""


# --------------------------------------------------------------------------- cross-signing keys


def _public_b64(key: Ed25519PrivateKey) -> str:
    return b64encode(key.public_key().public_bytes_raw())


@dataclass(frozen=True)
class CrossSigningKeys:
    """The account's three cross-signing private keys."""

    master: Ed25519PrivateKey
    self_signing: Ed25519PrivateKey
    user_signing: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> CrossSigningKeys:
        return cls(Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate())

    @property
    def master_public(self) -> str:
        return _public_b64(self.master)

    @property
    def self_signing_public(self) -> str:
        return _public_b64(self.self_signing)

    @property
    def user_signing_public(self) -> str:
        return _public_b64(self.user_signing)

    def key_objects(self, user_id: str) -> dict[str, dict[str, Any]]:
        """The body of ``/keys/device_signing/upload`` (without auth): master key, SSK and USK signed by master."""

        def key_object(usage: str, public: str) -> dict[str, Any]:
            return {"user_id": user_id, "usage": [usage], "keys": {f"ed25519:{public}": public}}

        master_key_id = f"ed25519:{self.master_public}"
        return {
            "master_key": key_object("master", self.master_public),
            "self_signing_key": sign_json(
                key_object("self_signing", self.self_signing_public), user_id, master_key_id, self.master
            ),
            "user_signing_key": sign_json(
                key_object("user_signing", self.user_signing_public), user_id, master_key_id, self.master
            ),
        }

    def sign_device(self, device_keys: dict[str, Any], user_id: str) -> dict[str, Any]:
        """Device keys as ``/keys/signatures/upload`` wants them: bare keys plus only our SSK signature."""
        bare = {k: v for k, v in device_keys.items() if k not in ("signatures", "unsigned")}
        return sign_json(bare, user_id, f"ed25519:{self.self_signing_public}", self.self_signing)

    def _seeds(self) -> dict[str, str]:
        return {
            name: b64encode(key.private_bytes_raw())
            for name, key in (
                ("master", self.master),
                ("self_signing", self.self_signing),
                ("user_signing", self.user_signing),
            )
        }

    @classmethod
    def _from_seeds(cls, seeds: dict[str, str]) -> CrossSigningKeys:
        return cls(
            *(
                Ed25519PrivateKey.from_private_bytes(b64decode(seeds[name]))
                for name in ("master", "self_signing", "user_signing")
            )
        )


# --------------------------------------------------------------------------- key file


def _derive_key(secret: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    if not secret:
        raise KeyFileError("an empty secret cannot protect the cross-signing keys")
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(secret.encode("utf-8"))


def _header_aad(header: dict[str, Any]) -> bytes:
    # The header (format, account, KDF parameters) is authenticated so a file cannot be moved to another
    # account or downgraded to weaker KDF parameters unnoticed.
    return canonical_json(header)


def save_keys(keys: CrossSigningKeys, key_file: Path, secret: str, user_id: str) -> None:
    """Encrypt ``keys`` with a key derived from ``secret`` and write them atomically to ``key_file`` (mode 0600)."""
    key_file = Path(key_file)
    salt = os.urandom(16)
    header = {
        "format": KEY_FILE_FORMAT,
        "version": KEY_FILE_VERSION,
        "user_id": user_id,
        "kdf": {"name": "scrypt", "salt": b64encode(salt), "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P},
        "cipher": "AES-256-GCM",
    }
    nonce = os.urandom(12)
    plaintext = canonical_json(keys._seeds())
    ciphertext = AESGCM(_derive_key(secret, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)).encrypt(
        nonce, plaintext, _header_aad(header)
    )
    document = {"header": header, "nonce": b64encode(nonce), "ciphertext": b64encode(ciphertext)}
    write_private(key_file, json.dumps(document, indent=2).encode("utf-8") + b"\n")


def load_keys(key_file: Path, secret: str, user_id: str) -> CrossSigningKeys:
    """Decrypt the key file. Raises :class:`KeyFileError` on a wrong secret, another account or corruption."""
    key_file = Path(key_file)
    mode = key_file.stat().st_mode & 0o777
    if mode & 0o077:
        log.warning("cross-signing key file %s had mode %o; tightening to 0600", key_file, mode)
        os.chmod(key_file, 0o600)
    try:
        document = json.loads(key_file.read_text(encoding="utf-8"))
        header = document["header"]
        kdf = header["kdf"]
        if header.get("format") != KEY_FILE_FORMAT or header.get("version") != KEY_FILE_VERSION:
            raise KeyFileError(f"{key_file} is not a jourbot cross-signing key file of a known version")
        if kdf.get("name") != "scrypt" or header.get("cipher") != "AES-256-GCM":
            raise KeyFileError(f"{key_file} uses an unsupported KDF or cipher")
        nonce = b64decode(document["nonce"])
        ciphertext = b64decode(document["ciphertext"])
        salt = b64decode(kdf["salt"])
        n, r, p = int(kdf["n"]), int(kdf["r"]), int(kdf["p"])
    except KeyFileError:
        raise
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise KeyFileError(f"{key_file} is corrupt or unreadable ({type(exc).__name__})") from None
    if header.get("user_id") != user_id:
        raise KeyFileError(f"{key_file} holds cross-signing keys of {header.get('user_id')!r}, not {user_id!r}")
    try:
        plaintext = AESGCM(_derive_key(secret, salt, n, r, p)).decrypt(nonce, ciphertext, _header_aad(header))
    except InvalidTag:
        raise KeyFileError(f"cannot decrypt {key_file}: wrong secret, or the file was altered") from None
    try:
        return CrossSigningKeys._from_seeds(json.loads(plaintext))
    except (ValueError, KeyError, TypeError):
        raise KeyFileError(f"{key_file} decrypted but holds no valid keys") from None


# --------------------------------------------------------------------------- keys shared in the database


def _seeds_text(keys: CrossSigningKeys) -> str:
    return canonical_json(keys._seeds()).decode("utf-8")


def _from_held(held: HeldKeys, user_id: str) -> CrossSigningKeys:
    if held.user_id != user_id:
        raise KeyFileError(f"the database holds the cross-signing keys of {held.user_id!r}, not {user_id!r}")
    try:
        keys = CrossSigningKeys._from_seeds(json.loads(held.seeds))
    except (ValueError, KeyError, TypeError):
        raise KeyFileError("the cross-signing keys kept in the database are not valid keys") from None
    if keys.master_public != held.master_key:
        raise KeyFileError("the cross-signing keys kept in the database are not those of the master key beside them")
    return keys


def _hold(identity: OwnIdentity, keys: CrossSigningKeys, user_id: str) -> CrossSigningKeys:
    """These keys kept in the database unless it holds some already: the ones it holds afterwards."""
    return _from_held(identity.hold(user_id, keys.master_public, _seeds_text(keys), time.time()), user_id)


def held_keys(
    identity: OwnIdentity | None, key_file: Path, secret: str, user_id: str
) -> tuple[CrossSigningKeys | None, str]:
    """The account's keys and where they were found: the database ("database"), else the key file of an install
    from before ("file"; then copied into the database, so the other instances find them), else none ("")."""
    if identity is not None:
        try:
            held = identity.held()
        except SealedKeysUnreadable as err:
            raise KeyFileError(str(err)) from None
        if held is not None:
            return _from_held(held, user_id), "database"
    if not key_file.exists():
        return None, ""
    keys = load_keys(key_file, secret, user_id)
    if identity is None:
        return keys, "file"
    kept = _hold(identity, keys, user_id)
    if kept.master_public == keys.master_public:
        log.info("copied the cross-signing keys of %s from %s into the database (master %s)", user_id, key_file,
                 format_fingerprint(keys.master_public))
        return kept, "file"
    return kept, "database"  # another instance put its keys there meanwhile: theirs, as for every instance


def _keep_new(
    identity: OwnIdentity | None, keys: CrossSigningKeys, key_file: Path, secret: str, user_id: str
) -> CrossSigningKeys:
    # Persist before anything is uploaded: keys on the server that we no longer hold would force a reset.
    if identity is not None:
        return _hold(identity, keys, user_id)
    save_keys(keys, key_file, secret, user_id)
    return keys


def _replace_keys(
    identity: OwnIdentity | None, keys: CrossSigningKeys, key_file: Path, secret: str, user_id: str
) -> None:
    if identity is not None:
        identity.replace(user_id, keys.master_public, _seeds_text(keys), time.time())
    else:
        save_keys(keys, key_file, secret, user_id)


def _not_held(user_id: str, server_master: str, key_file: Path) -> str:
    return (
        f"the homeserver has a cross-signing identity for {user_id} (master {format_fingerprint(server_master)}),"
        f" but neither the database nor {key_file} holds its private keys. Not replacing it: everyone who verified"
        " the bot would have to verify it again, and the other instances' devices would no longer be trusted."
        f" Restore {key_file.name} from the backup of the state folder of the instance that made it (or the"
        " database from its backup) and start again; if the keys are lost for good, `jourbot crosssign reset -c"
        " config.toml` makes a new identity on purpose (then stop the other instances first)."
    )


def _mismatch(user_id: str, server_master: str, ours: str, source: str, key_file: Path) -> str:
    where = "the database" if source == "database" else str(key_file)
    return (
        f"the cross-signing keys in {where} (master {format_fingerprint(ours)}) are not the identity the homeserver"
        f" has for {user_id} (master {format_fingerprint(server_master)}): the database or key file belongs to"
        " another install, or the account's identity was reset from another client. Not replacing it. Point the bot"
        " at the database (and key file) of this account, or, to give the bot a new identity on purpose, run"
        " `jourbot crosssign reset -c config.toml` (everyone who verified the bot must verify it again)."
    )


# --------------------------------------------------------------------------- homeserver API


class _Api:
    def __init__(self, session: aiohttp.ClientSession, homeserver: str, access_token: str) -> None:
        self._session = session
        self._base = homeserver.rstrip("/") + CLIENT_API
        self._headers = {"Authorization": f"Bearer {access_token}"}

    async def post(self, path: str, body: dict[str, Any], *, accept_401: bool = False) -> tuple[int, dict[str, Any]]:
        for attempt in range(MAX_RATE_LIMIT_RETRIES + 1):
            try:
                async with self._session.post(
                    self._base + path, json=body, headers=self._headers, timeout=HTTP_TIMEOUT
                ) as resp:
                    status = resp.status
                    try:
                        data = await resp.json(content_type=None)
                    except (ValueError, aiohttp.ContentTypeError):
                        data = {}
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise CrossSigningError(f"POST {path} failed: {type(exc).__name__}") from None
            if not isinstance(data, dict):
                data = {}
            if status == 429 and attempt < MAX_RATE_LIMIT_RETRIES:
                wait_ms = data.get("retry_after_ms")
                wait = wait_ms / 1000 if isinstance(wait_ms, int | float) else 1.0
                await asyncio.sleep(min(max(wait, 0.1), MAX_RATE_LIMIT_SLEEP))
                continue
            if status == 200 or (status == 401 and accept_401):
                return status, data
            raise CrossSigningError(
                f"POST {path} returned HTTP {status} {data.get('errcode', '')} {data.get('error', '')}".rstrip()
            )
        raise AssertionError("unreachable")

    async def keys_query(self, user_id: str) -> dict[str, Any]:
        _, data = await self.post("/keys/query", {"device_keys": {user_id: []}, "timeout": 10000})
        return data


def _single_ed25519(key_object: Any) -> str | None:
    """The public key of a cross-signing key object, or None if it is not exactly one ed25519 key."""
    if not isinstance(key_object, dict) or not isinstance(key_object.get("keys"), dict):
        return None
    keys = [(k, v) for k, v in key_object["keys"].items() if isinstance(k, str) and k.startswith("ed25519:")]
    if len(keys) != 1 or not isinstance(keys[0][1], str):
        return None
    return keys[0][1]


def _server_keys(query: dict[str, Any], user_id: str) -> dict[str, str | None]:
    return {
        name: _single_ed25519((query.get(field) or {}).get(user_id))
        for name, field in (
            ("master", "master_keys"),
            ("self_signing", "self_signing_keys"),
            ("user_signing", "user_signing_keys"),
        )
    }


def _ours(keys: CrossSigningKeys) -> dict[str, str]:
    return {
        "master": keys.master_public,
        "self_signing": keys.self_signing_public,
        "user_signing": keys.user_signing_public,
    }


async def _upload_cross_signing_keys(api: _Api, keys: CrossSigningKeys, user_id: str, password: str | None) -> None:
    body = keys.key_objects(user_id)
    status, data = await api.post("/keys/device_signing/upload", body, accept_401=True)
    if status == 200:
        return
    if "flows" not in data:  # a plain 401 (expired or wrong token), not an auth challenge
        raise CrossSigningError(f"POST /keys/device_signing/upload returned HTTP 401 {data.get('errcode', '')}")
    flows = data.get("flows") or []
    session = data.get("session")
    stages = [flow.get("stages") or [] for flow in flows if isinstance(flow, dict)]
    if any("org.matrix.cross_signing_reset" in s for s in stages):
        # Homeservers delegating auth (MAS / OIDC) want the reset approved in the account web UI.
        raise UserInteractiveAuthRequired(
            "the homeserver requires approving a cross-signing reset in its account management page "
            f"for {user_id}; approve it and start the bot again"
        )
    if password is None or not session or not any(s == ["m.login.password"] for s in stages):
        raise UserInteractiveAuthRequired(
            f"the homeserver requires user-interactive auth to replace the cross-signing keys of {user_id}; "
            "configure the bot's password (offered flows: " + ", ".join("+".join(s) for s in stages) + ")"
        )
    body["auth"] = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": user_id},
        "password": password,
        "session": session,
    }
    status, data = await api.post("/keys/device_signing/upload", body, accept_401=True)
    if status != 200:
        raise UserInteractiveAuthRequired(
            f"password auth for the cross-signing upload of {user_id} was refused ({data.get('errcode', '')})"
        )


def _check_device_keys(device_keys: Any, user_id: str, device_id: str, expected_ed25519: str | None) -> str:
    """The device's ed25519 key after checking the object really is that device's self-signed keys."""
    if not isinstance(device_keys, dict):
        raise CrossSigningError(f"device keys of {device_id} are malformed")
    if device_keys.get("user_id") != user_id or device_keys.get("device_id") != device_id:
        raise CrossSigningError(f"device keys returned for {device_id} name another user or device")
    ed25519 = (device_keys.get("keys") or {}).get(f"ed25519:{device_id}")
    if not isinstance(ed25519, str) or not verify_json(device_keys, user_id, f"ed25519:{device_id}", ed25519):
        raise CrossSigningError(f"device keys of {device_id} are not validly self-signed; refusing to sign them")
    if expected_ed25519 is not None and ed25519 != expected_ed25519:
        # The server answered with keys that are not our olm account's: signing them would vouch for a
        # device someone else controls.
        raise CrossSigningError(f"device keys of {device_id} on the server do not match the local olm account")
    return ed25519


@dataclass
class CrossSigningStatus:
    user_id: str
    device_id: str
    master_key: str
    master_fingerprint: str
    self_signing_key: str
    generated_keys: bool
    uploaded_keys: bool
    signed_device_now: bool
    device_signed: bool
    detail: str = ""
    keys_from: str = ""  # "database", "file" (an install from before, copied into the database) or "new"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def ensure_cross_signing(
    homeserver: str,
    access_token: str,
    user_id: str,
    device_id: str,
    password: str | None,
    key_file: Path,
    secret: str,
    session: aiohttp.ClientSession | None = None,
    *,
    device_ed25519: str | None = None,
    identity: OwnIdentity | None = None,
    reset: bool = False,
) -> CrossSigningStatus:
    """Make sure the account has our cross-signing keys on the server and ``device_id`` is signed by our SSK.

    The keys are the ones the database (``identity``) holds, else those of ``key_file`` (copied into the database),
    else new ones if the homeserver knows no identity of the account. An identity on the homeserver that is not
    ours is refused (:class:`IdentityRefused`), unless ``reset`` asks for new keys to replace it on purpose.
    Idempotent: a second call with the same keys and device does nothing but one ``/keys/query``.
    ``device_ed25519`` is the local olm account's ed25519 key (nio: ``client.olm.account.identity_keys["ed25519"]``);
    when given, keys on the server that differ from it are refused instead of signed.
    Raises :class:`CrossSigningError` (or a subclass) when it cannot succeed.
    """
    key_file = Path(key_file)
    keys, source = (None, "") if reset else held_keys(identity, key_file, secret, user_id)
    own_session = session is None
    http = session if session is not None else aiohttp.ClientSession(timeout=HTTP_TIMEOUT)
    try:
        api = _Api(http, homeserver, access_token)
        query = await api.keys_query(user_id)
        server_master = _server_keys(query, user_id)["master"]
        generated = False
        if reset:
            keys, source, generated = CrossSigningKeys.generate(), "new", True
            if server_master:
                log.warning("resetting the cross-signing identity of %s on request (was master %s, now %s)",
                            user_id, format_fingerprint(server_master), format_fingerprint(keys.master_public))
        elif keys is None:
            if server_master:
                raise IdentityRefused(_not_held(user_id, server_master, key_file))
            fresh = CrossSigningKeys.generate()
            keys = _keep_new(identity, fresh, key_file, secret, user_id)
            generated = keys.master_public == fresh.master_public
            source = "new" if generated else "database"
            if generated:
                log.info("generated cross-signing keys for %s (master %s)", user_id,
                         format_fingerprint(keys.master_public))
            else:  # another instance, starting at the same time, made them first and may have uploaded them
                query = await api.keys_query(user_id)
        elif server_master and server_master != keys.master_public:
            raise IdentityRefused(_mismatch(user_id, server_master, keys.master_public, source, key_file))
        uploaded = False
        if _server_keys(query, user_id) != _ours(keys):
            await _upload_cross_signing_keys(api, keys, user_id, password)
            uploaded = True
            log.info("uploaded cross-signing keys for %s", user_id)
            if reset:
                # Kept only once the homeserver took them: a reset refused (no password, a wrong one) leaves the
                # instances with the keys they have. Made and kept before the upload, as new keys otherwise are,
                # a refused reset would leave keys in the database that the homeserver never saw, and every
                # instance would refuse to start.
                _replace_keys(identity, keys, key_file, secret, user_id)
            query = await api.keys_query(user_id)
            if _server_keys(query, user_id) != _ours(keys):
                raise CrossSigningError("the homeserver did not keep the uploaded cross-signing keys")

        device_keys = ((query.get("device_keys") or {}).get(user_id) or {}).get(device_id)
        status = CrossSigningStatus(
            user_id=user_id,
            device_id=device_id,
            master_key=keys.master_public,
            master_fingerprint=format_fingerprint(keys.master_public),
            self_signing_key=keys.self_signing_public,
            generated_keys=generated,
            uploaded_keys=uploaded,
            signed_device_now=False,
            device_signed=False,
            keys_from=source,
        )
        if device_keys is None:
            status.detail = "device keys are not on the server yet; upload them (nio keys_upload) and call again"
            log.warning("cannot cross-sign %s of %s yet: %s", device_id, user_id, status.detail)
            return status
        _check_device_keys(device_keys, user_id, device_id, device_ed25519)

        ssk_key_id = f"ed25519:{keys.self_signing_public}"
        if not verify_json(device_keys, user_id, ssk_key_id, keys.self_signing_public):
            signed = keys.sign_device(device_keys, user_id)
            _, result = await api.post("/keys/signatures/upload", {user_id: {device_id: signed}})
            failures = result.get("failures") or {}
            if failures:
                raise CrossSigningError(f"the homeserver refused the device signature: {json.dumps(failures)[:300]}")
            status.signed_device_now = True
            log.info("cross-signed device %s of %s", device_id, user_id)
            query = await api.keys_query(user_id)

        status.device_signed = device_id in cross_signed_devices(query, user_id)
        if not status.device_signed:
            raise CrossSigningError(f"device {device_id} still does not verify as cross-signed on the server")
        return status
    finally:
        if own_session:
            await http.close()


async def cross_signing_status(
    homeserver: str,
    access_token: str,
    user_id: str,
    device_id: str,
    key_file: Path,
    secret: str,
    session: aiohttp.ClientSession | None = None,
    *,
    database_master: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """Read-only report for ``jourbot crosssign status``: the keys held, the server's keys, and device trust.

    ``database_master`` is (account, public master key) of the keys the shared database holds; they are the ones the
    instances use, so the key file is read only without them. Never writes anything and never uploads anything.
    """
    key_file = Path(key_file)
    local: dict[str, str] | None = None
    held_in: str | None = None
    if database_master is not None:
        if database_master[0] != user_id:
            raise KeyFileError(f"the database holds the cross-signing keys of {database_master[0]!r}, not {user_id!r}")
        local, held_in = {"master": database_master[1]}, "database"
    elif key_file.exists():
        local, held_in = _ours(load_keys(key_file, secret, user_id)), "file"
    own_session = session is None
    http = session if session is not None else aiohttp.ClientSession(timeout=HTTP_TIMEOUT)
    try:
        query = await _Api(http, homeserver, access_token).keys_query(user_id)
    finally:
        if own_session:
            await http.close()
    server = _server_keys(query, user_id)
    signed = cross_signed_devices(query, user_id)
    all_devices = sorted(((query.get("device_keys") or {}).get(user_id) or {}).keys())
    # The database shows only its public master key without the data key; the device's signature, checked against
    # the server's self-signing key that master signed, covers the rest.
    keys_match = local is not None and all(server.get(name) == value for name, value in local.items())
    return {
        "user_id": user_id,
        "device_id": device_id,
        "key_file": str(key_file),
        "keys_held_in": held_in,
        "local_keys": local is not None,
        "local_master_key": local["master"] if local else None,
        "local_master_fingerprint": format_fingerprint(local["master"]) if local else None,
        "server_master_key": server["master"],
        "server_master_fingerprint": format_fingerprint(server["master"]) if server["master"] else None,
        "keys_match": keys_match,
        "device_keys_on_server": device_id in all_devices,
        "device_signed": device_id in signed,
        "devices": all_devices,
        "cross_signed_devices": sorted(signed),
        "ok": keys_match and device_id in signed,
    }
