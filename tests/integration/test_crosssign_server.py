"""ensure_cross_signing against the real Synapse: what /keys/query shows afterwards, restarts, new devices, resets."""

from __future__ import annotations

import uuid
from pathlib import Path

import aiohttp
import pytest
from nio import AsyncClient, AsyncClientConfig, LoginResponse

from bot.matrix.crosssign import (
    IdentityRefused,
    UserInteractiveAuthRequired,
    cross_signing_status,
    ensure_cross_signing,
    load_keys,
)
from bot.matrix.device_trust import cross_signed_devices, self_signing_key
from bot.matrix.signing import verify_json

pytestmark = pytest.mark.integration

PASSWORD = "crosssign-test-password"
SECRET = "crosssign-test-pickle-secret"


async def login_device(url: str, user_id: str, store: Path) -> AsyncClient:
    """A fresh nio login (a new device) whose device keys are on the server, as the bot has after keys_upload."""
    store.mkdir(parents=True, exist_ok=True)
    client = AsyncClient(
        url, user_id, store_path=str(store), config=AsyncClientConfig(encryption_enabled=True, pickle_key=SECRET)
    )
    resp = await client.login(PASSWORD, device_name="crosssign-test")
    assert isinstance(resp, LoginResponse), resp
    assert client.should_upload_keys
    await client.keys_upload()
    return client


async def keys_query(url: str, token: str, user_id: str) -> dict:
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{url}/_matrix/client/v3/keys/query",
            json={"device_keys": {user_id: []}},
            headers={"Authorization": f"Bearer {token}"},
        ) as resp:
            assert resp.status == 200
            return await resp.json()


async def ensure(client: AsyncClient, key_file: Path, password: str | None = PASSWORD, reset: bool = False):
    return await ensure_cross_signing(
        client.homeserver,
        client.access_token,
        client.user_id,
        client.device_id,
        password,
        key_file,
        SECRET,
        device_ed25519=client.olm.account.identity_keys["ed25519"],
        reset=reset,
    )


@pytest.fixture
def account(synapse):
    return synapse.register(f"xs{uuid.uuid4().hex[:8]}", PASSWORD)


async def test_keys_are_published_and_the_device_carries_a_valid_ssk_signature(synapse, account, tmp_path):
    client = await login_device(synapse.url, account, tmp_path / "store1")
    try:
        status = await ensure(client, tmp_path / "crosssign.json")
        assert status.generated_keys and status.uploaded_keys and status.signed_device_now and status.device_signed

        query = await keys_query(synapse.url, client.access_token, account)
        master = query["master_keys"][account]
        ssk = query["self_signing_keys"][account]
        assert master["usage"] == ["master"] and master["keys"] == {f"ed25519:{status.master_key}": status.master_key}
        assert ssk["usage"] == ["self_signing"]
        assert verify_json(ssk, account, f"ed25519:{status.master_key}", status.master_key)
        assert self_signing_key(query, account) == status.self_signing_key

        device = query["device_keys"][account][client.device_id]
        assert verify_json(device, account, f"ed25519:{status.self_signing_key}", status.self_signing_key)
        assert cross_signed_devices(query, account) == {client.device_id}
    finally:
        await client.close()


async def test_restart_keeps_the_keys_and_a_new_device_is_signed_with_them(synapse, account, tmp_path):
    key_file = tmp_path / "crosssign.json"
    first = await login_device(synapse.url, account, tmp_path / "store1")
    try:
        initial = await ensure(first, key_file)
        restarted = await ensure(first, key_file)  # same process state, as after a restart with the store kept
        assert restarted.master_key == initial.master_key
        assert not restarted.generated_keys and not restarted.uploaded_keys and not restarted.signed_device_now
        assert restarted.device_signed
    finally:
        await first.close()

    second = await login_device(synapse.url, account, tmp_path / "store2")  # the nio store was lost
    try:
        assert second.device_id != first.device_id
        renewed = await ensure(second, key_file, password=None)  # no UIA may be needed for this
        assert renewed.master_key == initial.master_key
        assert renewed.self_signing_key == initial.self_signing_key
        assert not renewed.uploaded_keys and renewed.signed_device_now and renewed.device_signed
        query = await keys_query(synapse.url, second.access_token, account)
        assert cross_signed_devices(query, account) == {first.device_id, second.device_id}
        assert query["master_keys"][account]["keys"] == {f"ed25519:{initial.master_key}": initial.master_key}
    finally:
        await second.close()


async def test_lost_keys_are_refused_and_only_a_reset_with_the_password_replaces_the_identity(
        synapse, account, tmp_path):
    client = await login_device(synapse.url, account, tmp_path / "store1")
    try:
        old = await ensure(client, tmp_path / "old.json")
        with pytest.raises(IdentityRefused, match="neither the database nor"):
            await ensure(client, tmp_path / "new.json")
        with pytest.raises(UserInteractiveAuthRequired):
            await ensure(client, tmp_path / "new.json", password=None, reset=True)
        query = await keys_query(synapse.url, client.access_token, account)
        assert query["master_keys"][account]["keys"] == {f"ed25519:{old.master_key}": old.master_key}

        new = await ensure(client, tmp_path / "new.json", reset=True)
        assert new.uploaded_keys and new.master_key != old.master_key and new.device_signed
        assert new.master_key == load_keys(tmp_path / "new.json", SECRET, account).master_public
        query = await keys_query(synapse.url, client.access_token, account)
        assert cross_signed_devices(query, account) == {client.device_id}
    finally:
        await client.close()


async def test_status_reports_server_and_local_state(synapse, account, tmp_path):
    key_file = tmp_path / "crosssign.json"
    client = await login_device(synapse.url, account, tmp_path / "store1")
    try:
        args = (client.homeserver, client.access_token, account, client.device_id, key_file, SECRET)
        before = await cross_signing_status(*args)
        assert before["ok"] is False and before["server_master_key"] is None and before["device_keys_on_server"]
        assert not key_file.exists()
        status = await ensure(client, key_file)
        after = await cross_signing_status(*args)
        assert after["ok"] is True and after["server_master_key"] == status.master_key
        assert after["cross_signed_devices"] == [client.device_id]
    finally:
        await client.close()
