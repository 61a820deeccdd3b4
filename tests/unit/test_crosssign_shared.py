"""The account's cross-signing keys shared through the database by every instance (bot/store/cross_signing.py), and
the order ensure_cross_signing takes them in: the database, else an older install's key file (copied in), else new
ones — and what it refuses. The store's part runs against both dialects (the `database` fixture)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Iterator
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.matrix.crosssign import (
    CrossSigningKeys,
    IdentityRefused,
    KeyFileError,
    UserInteractiveAuthRequired,
    ensure_cross_signing,
    held_keys,
    save_keys,
)
from bot.matrix.device_trust import cross_signed_devices
from bot.matrix.signing import b64encode, canonical_json
from bot.store import Store
from bot.store.cross_signing import SealedKeysUnreadable
from bot.store.rotation import reseal
from bot.store.secretbox import SecretBox
from tests.harness.botrunner import BOT_USER, TEST_DATA_KEY, write_config
from tests.unit.test_crosssign import PASSWORD, SECRET, TOKEN, USER, _fake_query

DATA_KEY = "data-key-shared-by-every-instance"


class Instances:
    """Stores of instances with state folders of their own on one database (for SQLite: the same file)."""

    def __init__(self, root: Path, database: str) -> None:
        self.root = root
        self.database = database
        self.opened: list[Store] = []

    def store(self, name: str, data_key: str = DATA_KEY) -> Store:
        # SQLite has no server: the instances' shared database is one file, the state folders still their own.
        path = self.root / ("shared" if not self.database else name) / "jourbot.db"
        store = Store(path, SecretBox(data_key), database=self.database)
        self.opened.append(store)
        return store

    def key_file(self, name: str) -> Path:
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        return folder / "cross-signing.keys"


@pytest.fixture
def instances(tmp_path: Path, database: str) -> Iterator[Instances]:
    made = Instances(tmp_path, database)
    yield made
    for store in made.opened:
        store.close()


def seeds(keys: CrossSigningKeys) -> str:
    return canonical_json(keys._seeds()).decode()


# --------------------------------------------------------------------------- the store


def test_the_first_keys_held_are_the_ones_every_instance_reads(instances):
    a, b = instances.store("a"), instances.store("b")
    assert a.own_identity.held() is None and a.own_identity.master_key() is None
    first, second = CrossSigningKeys.generate(), CrossSigningKeys.generate()
    held = a.own_identity.hold(USER, first.master_public, seeds(first), 1.0)
    assert (held.user_id, held.master_key, held.seeds) == (USER, first.master_public, seeds(first))
    raced = b.own_identity.hold(USER, second.master_public, seeds(second), 2.0)
    assert raced == held, "a second instance making keys at the same time gets the first one's"
    assert b.own_identity.master_key() == (USER, first.master_public)
    assert "private" not in repr(held) and seeds(first) not in repr(held)


def test_the_keys_are_sealed_bound_to_the_account_and_need_the_data_key(instances):
    a = instances.store("a")
    keys = CrossSigningKeys.generate()
    a.own_identity.hold(USER, keys.master_public, seeds(keys), 1.0)
    sealed = a.db.execute("SELECT sealed FROM cross_signing_keys").fetchone()[0]
    for private in json.loads(seeds(keys)).values():
        assert private not in sealed
    with a.transaction():
        a.db.execute("UPDATE cross_signing_keys SET user_id = '@other:localhost'")
    with pytest.raises(SealedKeysUnreadable, match="same data key"):
        a.own_identity.held()
    with a.transaction():
        a.db.execute("UPDATE cross_signing_keys SET user_id = ?", [USER])
    assert a.own_identity.held() is not None
    with pytest.raises(SealedKeysUnreadable):
        instances.store("c", data_key="another-data-key-entirely").own_identity.held()


def test_a_reset_replaces_the_row_and_rotate_data_reseals_it(instances):
    a = instances.store("a")
    old, new = CrossSigningKeys.generate(), CrossSigningKeys.generate()
    a.own_identity.hold(USER, old.master_public, seeds(old), 1.0)
    a.own_identity.replace(USER, new.master_public, seeds(new), 2.0)
    assert a.own_identity.held().seeds == seeds(new)
    new_box = SecretBox("the-next-data-key", "data", a.box.salt)
    with a.transaction():
        assert reseal(a.db, a.box, new_box)["cross_signing_keys.sealed"] == 1
    a.own_identity.box = new_box
    assert a.own_identity.held().seeds == seeds(new)


# --------------------------------------------------------------------------- the order, and the refusals


async def ensure(url: str, device: str, key_file: Path, store: Store | None, **kw):
    return await ensure_cross_signing(url, TOKEN, USER, device, PASSWORD, key_file, SECRET,
                                      identity=None if store is None else store.own_identity, **kw)


async def test_instances_share_one_identity_made_once_and_sign_each_their_device(homeserver, instances):
    fake, url = homeserver
    fake.add_device("DEVA")
    fake.add_device("DEVB")
    a, b = instances.store("a"), instances.store("b")
    first = await ensure(url, "DEVA", instances.key_file("a"), a)
    assert (first.keys_from, first.generated_keys, first.uploaded_keys) == ("new", True, True)
    assert not instances.key_file("a").exists(), "new keys live in the database only"
    fake.calls.clear()
    second = await ensure(url, "DEVB", instances.key_file("b"), b)
    assert (second.keys_from, second.generated_keys, second.uploaded_keys) == ("database", False, False)
    assert second.master_key == first.master_key and second.signed_device_now
    assert "device_signing" not in fake.calls and fake.uia_sessions == 0
    assert cross_signed_devices(_fake_query(fake), USER) == {"DEVA", "DEVB"}


async def test_an_older_install_s_key_file_is_copied_into_the_database(homeserver, instances):
    fake, url = homeserver
    fake.add_device("DEVA")
    fake.add_device("DEVB")
    old = await ensure(url, "DEVA", instances.key_file("a"), None)  # the single instance of before
    a = instances.store("a")
    migrated = await ensure(url, "DEVA", instances.key_file("a"), a)
    assert (migrated.keys_from, migrated.uploaded_keys, migrated.master_key) == ("file", False, old.master_key)
    assert a.own_identity.master_key() == (USER, old.master_key)
    joined = await ensure(url, "DEVB", instances.key_file("b"), instances.store("b"))
    assert (joined.keys_from, joined.master_key) == ("database", old.master_key)
    assert cross_signed_devices(_fake_query(fake), USER) == {"DEVA", "DEVB"}
    again = await ensure(url, "DEVA", instances.key_file("a"), a)
    assert again.keys_from == "database", "the database comes first once it holds them"


async def test_an_identity_on_the_homeserver_that_nobody_holds_is_refused_not_reset(homeserver, instances):
    fake, url = homeserver
    fake.add_device("DEVA")
    await ensure(url, "DEVA", instances.key_file("elsewhere"), None)  # made by a client or an install now lost
    a = instances.store("a")
    fake.calls.clear()
    with pytest.raises(IdentityRefused, match="neither the database nor") as refused:
        await ensure(url, "DEVA", instances.key_file("a"), a)
    assert "crosssign reset" in str(refused.value) and "Restore" in str(refused.value)
    assert fake.calls == ["query"] and a.own_identity.held() is None


async def test_database_keys_that_are_not_the_homeserver_s_identity_are_refused(homeserver, instances):
    fake, url = homeserver
    fake.add_device("DEVA")
    server = await ensure(url, "DEVA", instances.key_file("elsewhere"), None)
    a = instances.store("a")
    other = CrossSigningKeys.generate()
    a.own_identity.hold(USER, other.master_public, seeds(other), 1.0)
    fake.calls.clear()
    with pytest.raises(IdentityRefused, match="in the database .* not the identity the homeserver has"):
        await ensure(url, "DEVA", instances.key_file("a"), a)
    assert fake.calls == ["query"]
    assert fake.cross["master_key"]["keys"] == {f"ed25519:{server.master_key}": server.master_key}


async def test_keys_of_another_account_or_under_another_data_key_are_refused(homeserver, instances):
    fake, url = homeserver
    fake.add_device("DEVA")
    a = instances.store("a")
    keys = CrossSigningKeys.generate()
    a.own_identity.hold("@someone-else:localhost", keys.master_public, seeds(keys), 1.0)
    with pytest.raises(KeyFileError, match="someone-else"):
        await ensure(url, "DEVA", instances.key_file("a"), a)
    with a.transaction():
        a.db.execute("DELETE FROM cross_signing_keys")
    a.own_identity.hold(USER, keys.master_public, seeds(keys), 1.0)
    with pytest.raises(KeyFileError, match="data key"):
        await ensure(url, "DEVA", instances.key_file("b"), instances.store("b", data_key="not-the-shared-data-key"))
    assert "query" not in fake.calls, "refused before asking the homeserver anything"


async def test_instances_starting_at_once_on_a_fresh_install_agree_on_one_identity(homeserver, instances):
    fake, url = homeserver
    fake.add_device("DEVA")
    fake.add_device("DEVB")
    a, b = instances.store("a"), instances.store("b")
    one, two = await asyncio.gather(ensure(url, "DEVA", instances.key_file("a"), a),
                                    ensure(url, "DEVB", instances.key_file("b"), b))
    assert one.master_key == two.master_key == next(iter(fake.cross["master_key"]["keys"].values()))
    assert sorted([one.keys_from, two.keys_from]) == ["database", "new"]
    assert cross_signed_devices(_fake_query(fake), USER) == {"DEVA", "DEVB"}


async def test_a_reset_on_purpose_replaces_the_database_s_keys(homeserver, instances):
    fake, url = homeserver
    fake.add_device("DEVA")
    a = instances.store("a")
    first = await ensure(url, "DEVA", instances.key_file("a"), a)
    with pytest.raises(UserInteractiveAuthRequired):
        await ensure_cross_signing(url, TOKEN, USER, "DEVA", None, instances.key_file("a"), SECRET,
                                   identity=a.own_identity, reset=True)
    assert a.own_identity.master_key() == (USER, first.master_key), "a refused reset changes nothing"
    reset = await ensure(url, "DEVA", instances.key_file("a"), a, reset=True)
    assert reset.keys_from == "new" and reset.uploaded_keys and reset.master_key != first.master_key
    assert a.own_identity.master_key() == (USER, reset.master_key)
    assert fake.uia_sessions == 2  # the homeserver asked for the password to replace its identity


def test_held_keys_read_the_file_only_when_the_database_holds_none(instances):
    a = instances.store("a")
    key_file = instances.key_file("a")
    assert held_keys(a.own_identity, key_file, SECRET, USER) == (None, "")
    in_file = CrossSigningKeys.generate()
    save_keys(in_file, key_file, SECRET, USER)
    keys, source = held_keys(a.own_identity, key_file, SECRET, USER)
    assert source == "file" and keys is not None and keys.master_public == in_file.master_public
    key_file.write_text("not a key file any more")  # never opened again: the database has them
    keys, source = held_keys(a.own_identity, key_file, "a wrong pickle key", USER)
    assert source == "database" and keys is not None and keys.master_public == in_file.master_public
    assert b64encode(in_file.master.private_bytes_raw()) not in a.db.execute(
        "SELECT sealed FROM cross_signing_keys").fetchone()[0]


# --------------------------------------------------------------------------- jourbot crosssign status | reset


async def test_crosssign_reset_needs_its_flag_and_the_database_alone_and_status_reads_the_database(
        homeserver, tmp_path, capsys):
    fake, url = homeserver
    fake.add_device("DEVA")
    lost = await ensure(url, "DEVA", tmp_path / "lost.keys", None)  # the identity whose keys nobody holds any more
    config = write_config(tmp_path / "bot", url, PASSWORD, ["!r:localhost"], ["@p:localhost"])
    config.write_text(config.read_text().replace(f'user_id = "{BOT_USER}"', f'user_id = "{USER}"'))
    state = tmp_path / "bot" / "state"
    (state / "cross-signing.keys").unlink()
    (state / "credentials.json").write_text(json.dumps(
        {"homeserver": url, "user_id": USER, "device_id": "DEVA", "access_token": TOKEN}))

    def jourbot(*words: str) -> Awaitable[int]:
        return asyncio.to_thread(main, [*words, "-c", str(config)])  # the fake homeserver answers in this loop

    assert await jourbot("crosssign", "reset") == 1
    assert "--new-identity" in capsys.readouterr().err and fake.cross["master_key"] == lost_master(lost)
    running = Store(state / "jourbot.db", SecretBox(TEST_DATA_KEY))
    assert await jourbot("crosssign", "reset", "--new-identity") == 1
    assert "stop every instance" in capsys.readouterr().err
    running.close()

    assert await jourbot("crosssign", "reset", "--new-identity") == 0
    assert "verify the bot anew" in capsys.readouterr().out
    store = Store(state / "jourbot.db", SecretBox(TEST_DATA_KEY))
    try:
        held = store.own_identity.master_key()
        assert held is not None and held[1] != lost.master_key
        assert fake.cross["master_key"]["keys"] == {f"ed25519:{held[1]}": held[1]}
        assert [e["action"] for e in store.audit.entries(10)][-1] == "crosssign.reset"
    finally:
        store.close()
    assert await jourbot("crosssign", "status", "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["keys_held_in"] == "database" and report["keys_match"] and report["device_signed"]
    assert report["local_master_key"] == held[1]


def lost_master(status) -> dict:
    return {"user_id": USER, "usage": ["master"], "keys": {f"ed25519:{status.master_key}": status.master_key}}
