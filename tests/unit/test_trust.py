"""Trust, the pure parts: the verdict on an event, how often a refused sender is told, what the key directory makes of
/keys/query, and the power levels of a room the bot makes."""

from __future__ import annotations

import asyncio

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bot.matrix.client import creators_privileged, owned_power_levels
from bot.matrix.crosssign import CrossSigningKeys
from bot.matrix.keydirectory import KeyDirectory
from bot.matrix.signing import b64encode, sign_json
from bot.trust.senders import QUIET_S, Notices, Origin, Verdict, judge
from tests.unit.test_device_trust import USER, _device_keys, _response

BOT = "@jourbot:localhost"
KNOWN = Origin(True, "PHONE", known=True, cross_signed=False, master_key="M1")
SIGNED = Origin(True, "PHONE", known=True, cross_signed=True, master_key="M1")


def verdict(kind: str = "command", origin: Origin = SIGNED, encrypted: bool = True, policy: str = "tofu",
            audience: bool = True, admitted: bool = True) -> Verdict:
    return judge(kind, origin, encrypted, policy, audience, lambda _master: admitted)


def test_only_decrypted_events_from_known_devices_act_in_an_encrypted_room():
    assert verdict() is Verdict.ACT
    assert verdict(origin=Origin(decrypted=False)) is Verdict.PLAINTEXT
    assert verdict(kind="reaction", origin=Origin(decrypted=False)) is Verdict.PLAINTEXT
    assert verdict(kind="edit", origin=Origin(decrypted=False)) is Verdict.PLAINTEXT
    assert verdict(origin=Origin(True, "", known=False)) is Verdict.UNKNOWN_DEVICE
    # A redaction is never encrypted: it passes (the only thing it can make the bot do is answer).
    assert verdict(kind="redaction", origin=Origin(decrypted=False)) is Verdict.ACT


def test_the_policy_decides_whether_a_device_must_be_cross_signed():
    assert verdict(origin=KNOWN, policy="tofu") is Verdict.ACT
    assert verdict(origin=KNOWN, policy="cross-signed") is Verdict.NOT_CROSS_SIGNED
    assert verdict(origin=SIGNED, policy="cross-signed") is Verdict.ACT


def test_a_changed_identity_is_asked_last_and_only_of_a_genuine_device():
    asked: list[str | None] = []

    def admitted(master: str | None) -> bool:
        asked.append(master)
        return False

    assert judge("command", Origin(decrypted=False), True, "tofu", True, admitted) is Verdict.PLAINTEXT
    assert judge("command", KNOWN, True, "cross-signed", True, admitted) is Verdict.NOT_CROSS_SIGNED
    assert asked == []  # a forged event never pins an identity, nor counts as a change
    assert judge("command", SIGNED, True, "cross-signed", True, admitted) is Verdict.IDENTITY_CHANGED
    assert asked == ["M1"]


def test_nothing_acts_in_an_unencrypted_room_and_strangers_in_the_bots_rooms_are_not_heard():
    assert verdict(encrypted=False) is Verdict.UNENCRYPTED_ROOM
    assert verdict(encrypted=False, kind="redaction") is Verdict.UNENCRYPTED_ROOM
    assert verdict(audience=False) is Verdict.STRANGER


def test_a_refused_sender_is_told_once_per_room_every_ten_minutes():
    now = [1000.0]
    notices = Notices(lambda: now[0])
    assert notices.due(Verdict.PLAINTEXT, "!a", "@x") and not notices.due(Verdict.PLAINTEXT, "!a", "@y")
    assert notices.due(Verdict.PLAINTEXT, "!b", "@x")  # another room
    assert notices.due(Verdict.UNKNOWN_DEVICE, "!a", "@x") and notices.due(Verdict.UNKNOWN_DEVICE, "!a", "@y")
    assert not notices.due(Verdict.UNKNOWN_DEVICE, "!a", "@x")
    assert not notices.due(Verdict.STRANGER, "!c", "@x") and not notices.due(Verdict.ACT, "!c", "@x")
    now[0] += QUIET_S
    assert notices.due(Verdict.PLAINTEXT, "!a", "@x")


def test_origins_survive_the_store_and_an_event_recorded_without_one_is_plaintext():
    assert Origin.from_dict(SIGNED.as_dict()) == SIGNED
    assert Origin.from_dict(None) == Origin(decrypted=False)


@pytest.fixture
def keys_query():
    cs = CrossSigningKeys.generate()
    signed = sign_json(_device_keys(USER, "SIGNED", Ed25519PrivateKey.generate()), USER,
                       f"ed25519:{cs.self_signing_public}", cs.self_signing)
    plain = _device_keys(USER, "PLAIN", Ed25519PrivateKey.generate())
    forged = dict(_device_keys(USER, "FORGED", Ed25519PrivateKey.generate()))
    forged["keys"] = {**forged["keys"], "ed25519:FORGED": b64encode(b"\x01" * 32)}  # its self-signature no longer holds
    return cs, _response(cs, {"SIGNED": signed, "PLAIN": plain, "FORGED": forged})


async def test_the_key_directory_reads_identity_and_devices_and_asks_once(keys_query):
    cs, response = keys_query
    asked: list[list[str]] = []

    async def query(users: list[str]) -> dict:
        asked.append(users)
        await asyncio.sleep(0)
        return response

    directory = KeyDirectory(query)
    first, second = await asyncio.gather(directory.get([USER]), directory.get([USER]))
    keys = first[USER]
    assert second[USER] is keys and asked == [[USER]]  # two callers at once: one query
    assert keys.master == cs.master_public
    assert set(keys.devices) == {"SIGNED", "PLAIN"} and keys.cross_signed == {"SIGNED"}
    curve, ed = keys.devices["PLAIN"]
    assert keys.device_with(curve, ed) == "PLAIN" and keys.device_with(curve, "other") is None
    directory.invalidate([USER])
    await directory.get([USER])
    await directory.get([USER], fresh=True)
    assert asked == [[USER], [USER], [USER]]


async def test_nobody_known_when_asked_is_left_out_because_a_sync_dropped_them_while_waiting():
    """A sync that reports anna's device list changed drops her keys while a page waits for another person's query;
    the answer must still have her (fetched anew), or the trust policy sees her with no device and the page fails
    for good as "no trusted device" (found by bench/alarm_latency.py with 100 alarm rooms being opened)."""
    anna, other = "@anna.a:localhost", "@other:localhost"
    release = asyncio.Event()
    asked: list[list[str]] = []

    async def query(users: list[str]) -> dict:
        asked.append(users)
        await release.wait()
        return {"device_keys": {user: {} for user in users}}

    directory = KeyDirectory(query)
    release.set()
    await directory.get([anna])
    release.clear()
    first = asyncio.create_task(directory.get([other]))  # holds the lock while its query is answered
    await asyncio.sleep(0)
    second = asyncio.create_task(directory.get([anna, other]))  # anna known, other missing: waits for the lock
    await asyncio.sleep(0)
    directory.invalidate([anna])  # the sync
    release.set()
    await first
    assert set(await second) == {anna, other}
    assert asked == [[anna], [other], [anna]]


async def test_someone_without_an_identity_has_no_master_key():
    async def query(users: list[str]) -> dict:
        return {"device_keys": {USER: {}}}

    assert (await KeyDirectory(query).get([USER]))[USER].master is None


def test_rooms_the_bot_makes_are_its_alone_to_change():
    levels = owned_power_levels(BOT, creator_privileged=False)
    assert levels["users"] == {BOT: 100} and levels["users_default"] == 0 and levels["events_default"] == 0
    assert levels["invite"] == levels["kick"] == levels["ban"] == levels["state_default"] == 100
    for guarded in ("m.room.power_levels", "m.room.encryption", "m.room.join_rules", "m.room.history_visibility"):
        assert levels["events"][guarded] == 100
    # Room version 12: the creator's power is its own and may not be listed.
    assert owned_power_levels(BOT, creator_privileged=True)["users"] == {}
    assert creators_privileged("12") and creators_privileged("13")
    assert not creators_privileged("11") and not creators_privileged("org.example.custom")
