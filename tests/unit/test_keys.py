"""Keys that resist guessing, in files private to the bot's user; new ones made, the data key rotated, old databases
still read, and the salt beside the database needed."""

from __future__ import annotations

import base64
import os
import stat

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bot import config as config_module
from bot.cli.main import main, preflight
from bot.store import SaltMissing, Store, salt_path
from bot.store.alarms import AlarmRow
from bot.store.secretbox import DecryptionError, SecretBox, derive_key
from tests.harness.botrunner import TEST_DATA_KEY, write_config


def config_in(tmp_path):
    return write_config(tmp_path / "bot", "http://127.0.0.1:9", "secret", ["!r:localhost"], ["@p:localhost"])


def test_a_one_byte_data_key_stops_the_bot_at_preflight(tmp_path, capsys):
    path = config_in(tmp_path)
    (tmp_path / "bot" / "data.key").write_text("a")
    (problem,) = preflight(config_module.load(path))
    assert "data key" in problem and "too weak to resist guessing" in problem and "jourbot keys new" in problem
    assert main(["run", "-c", str(path)]) == 2
    err = capsys.readouterr().err
    assert "jourbot cannot start" in err and "a key of 1 characters holds at most 4 bits" in err


def test_a_key_file_others_can_read_stops_the_bot_at_preflight(tmp_path, capsys):
    path = config_in(tmp_path)
    (tmp_path / "bot" / "pickle.key").chmod(0o644)
    (problem,) = preflight(config_module.load(path))
    assert "pickle_key_file" in problem and "mode 0644" in problem and "chmod 600" in problem
    assert main(["run", "-c", str(path)]) == 2
    assert "readable by the bot's user only" in capsys.readouterr().err


def test_a_weak_key_from_the_environment_is_refused_too(tmp_path, monkeypatch):
    config = config_module.load(config_in(tmp_path))
    monkeypatch.setenv("JOURBOT_DATA_KEY", "a")
    with pytest.raises(config_module.ConfigError, match="JOURBOT_DATA_KEY is too weak"):
        config.data_key()
    for weak, why in (("test data key for this test only", "spaces"), ("x" * 40, "too few characters"),
                      ("0123456789abcdef", "at most 64 bits")):
        monkeypatch.setenv("JOURBOT_DATA_KEY", weak)
        with pytest.raises(config_module.ConfigError, match=why):
            config.data_key()


def test_keys_new_writes_strong_private_keys_and_never_overwrites_one(tmp_path, capsys):
    path = config_in(tmp_path)
    for name in ("pickle.key", "data.key"):
        (tmp_path / "bot" / name).unlink()
    assert main(["keys", "new", "-c", str(path)]) == 0
    config = config_module.load(path)
    assert config.pickle_key() != config.data_key()
    for name in ("pickle.key", "data.key"):
        assert stat.S_IMODE((tmp_path / "bot" / name).stat().st_mode) == 0o600
    before = (tmp_path / "bot" / "data.key").read_text()
    assert main(["keys", "new", "-c", str(path)]) == 1
    assert "not overwritten" in capsys.readouterr().err
    assert (tmp_path / "bot" / "data.key").read_text() == before


def legacy_seal(secret: str, plaintext: str, context: str) -> str:
    """A field as jourbot sealed it before the salt: HKDF of the bare secret."""
    nonce = os.urandom(12)
    sealed = AESGCM(derive_key(secret, "data")).encrypt(nonce, plaintext.encode(), context.encode())
    return "v1:" + base64.b64encode(nonce + sealed).decode()


def test_rotate_data_reseals_every_field_in_one_go_and_old_fields_are_still_read(tmp_path, capsys):
    path = config_in(tmp_path)
    config = config_module.load(path)
    db = config.state_dir / "jourbot.db"
    store = Store(db, SecretBox(TEST_DATA_KEY))
    with store.transaction():
        store.alarms.insert(AlarmRow("L1", 1, "open", "farsta", "jour", "@p:x", 1.0, "!r", {"v": 2}), "fritext L1")
        store.events.record("$e", "!r", "@p:x", "command", 1, {"body": "!larm Farsta kniv"})
        # a field from before the salt, as an older jourbot wrote it
        store.db.execute("UPDATE alarms SET details = ? WHERE id = 'L1'",
                         [legacy_seal(TEST_DATA_KEY, "gammal fritext", "details:L1")])
    assert store.alarms.details("L1") == "gammal fritext", "an old database is still read"
    assert store.box.salt == bytes.fromhex(salt_path(db).read_text())
    assert stat.S_IMODE(salt_path(db).stat().st_mode) == 0o600

    new_file = tmp_path / "new.key"
    assert main(["keys", "new", str(new_file)]) == 0
    assert main(["keys", "rotate-data", "-c", str(path), "--new-key-file", str(new_file)]) == 1, "the bot runs"
    assert "stop the bot" in capsys.readouterr().err
    store.close()

    assert main(["keys", "rotate-data", "-c", str(path), "--new-key-file", str(new_file)]) == 0
    new_key = new_file.read_text().strip()
    assert config.data_key() == new_key, "data_key_file now holds the new key"
    again = Store(db, SecretBox(new_key))
    assert again.alarms.details("L1") == "gammal fritext"
    assert again.events.pending()[0].payload == {"body": "!larm Farsta kniv"}
    assert again.audit.entries(1)[0]["action"] == "keys.data_rotated"
    sealed = again.db.execute("SELECT details FROM alarms").fetchone()[0]
    assert sealed.startswith("v2:")
    again.close()
    with pytest.raises(DecryptionError):
        old = Store(db, SecretBox(TEST_DATA_KEY))
        try:
            old.alarms.details("L1")
        finally:
            old.close()


def test_a_missing_salt_stops_the_store_with_what_to_do(tmp_path):
    db = tmp_path / "state" / "jourbot.db"
    Store(db, SecretBox(TEST_DATA_KEY)).close()
    salt_path(db).unlink()
    with pytest.raises(SaltMissing, match="Restore it from the backup"):
        Store(db, SecretBox(TEST_DATA_KEY))


async def test_rotate_pickle_keeps_the_device_its_room_keys_and_the_cross_signing_keys(tmp_path, capsys):
    import json

    from nio import AsyncClient, AsyncClientConfig
    from nio.store import DefaultStore

    from bot.matrix.crosssign import CrossSigningKeys, load_keys, save_keys
    from tests.harness.botrunner import TEST_PICKLE_KEY

    path = config_in(tmp_path)
    config = config_module.load(path)
    state, user = config.state_dir, config.matrix.user_id
    (state / "crypto").mkdir(parents=True)
    client = AsyncClient("http://127.0.0.1:9", user, device_id="JOURBOTDEV", store_path=str(state / "crypto"),
                         config=AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False,
                                                  pickle_key=TEST_PICKLE_KEY))
    client.user_id = user
    client.load_store()
    assert client.olm is not None
    client.olm.create_outbound_group_session("!polis:localhost")
    room_key = client.olm.outbound_group_sessions["!polis:localhost"].id
    identity = client.olm.account.identity_keys["ed25519"]
    await client.close()
    (state / "credentials.json").write_text(json.dumps({"device_id": "JOURBOTDEV", "user_id": user}))
    signing = CrossSigningKeys.generate()
    save_keys(signing, state / "cross-signing.keys", TEST_PICKLE_KEY, user)
    Store(state / "jourbot.db", SecretBox(TEST_DATA_KEY)).close()

    new_file = tmp_path / "new-pickle.key"
    assert main(["keys", "new", str(new_file)]) == 0
    assert main(["keys", "rotate-pickle", "-c", str(path), "--new-key-file", str(new_file)]) == 0
    new_key = new_file.read_text().strip()
    assert config.pickle_key() == new_key, "pickle_key_file now holds the new key"

    store = DefaultStore(user, "JOURBOTDEV", str(state / "crypto"), pickle_key=new_key)
    account = store.load_account()
    assert account is not None and account.identity_keys["ed25519"] == identity, "the same device"
    assert room_key in {s.id for s in store.load_inbound_group_sessions()}, "its room keys kept"
    store.database.close()
    with pytest.raises(Exception):  # noqa: B017 - vodozemac's own error: the old key opens nothing now
        DefaultStore(user, "JOURBOTDEV", str(state / "crypto"), pickle_key=TEST_PICKLE_KEY).load_account()
    assert load_keys(state / "cross-signing.keys", new_key, user).master_public == signing.master_public
    audit = Store(state / "jourbot.db", SecretBox(TEST_DATA_KEY))
    assert audit.audit.entries(1)[0]["action"] == "keys.pickle_rotated"
    audit.close()


def test_a_key_file_of_mode_0400_as_systemd_gives_credentials_is_private_enough(tmp_path):
    from bot.config.keys import file_problem

    key = tmp_path / "data-key"
    key.write_text(TEST_DATA_KEY)
    key.chmod(0o400)
    assert file_problem(key) == ""
    key.chmod(0o440)
    assert "mode 0440" in file_problem(key) and "(chmod 600, or 400)" in file_problem(key)


def test_a_root_owned_credential_with_an_acl_is_accepted_only_in_the_units_credentials_directory(tmp_path,
                                                                                                   monkeypatch):
    """Where the credentials' file system has ACLs, systemd leaves the file root's (mode 0400 plus an ACL entry for
    the bot's user, which shows as 0440); the bot's user is then not the owner."""
    from bot.config import keys

    if os.geteuid() != 0:
        pytest.skip("needs a root-owned file, which only root can make")
    folder = tmp_path / "credentials"
    folder.mkdir()
    key = folder / "data-key"
    key.write_text(TEST_DATA_KEY)
    key.chmod(0o440)
    monkeypatch.setattr(keys.os, "geteuid", lambda: 990)  # the bot's user, as systemd runs it
    assert "must be owned by the bot's user (uid 990), not uid 0" in keys.file_problem(key)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(folder))
    assert keys.file_problem(key) == ""
    for mode in (0o444, 0o460, 0o640):  # others may read it; its group or owner may write it
        key.chmod(mode)
        assert keys.file_problem(key), f"mode {mode:04o} is no credential as systemd makes it"
    key.chmod(0o440)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    assert keys.file_problem(key), "only files right in the unit's own folder"
