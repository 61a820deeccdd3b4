"""`jourbot keys rotate-pickle`: the crypto store and the cross-signing keys encrypted anew under a new pickle key,
keeping the bot's device, its Olm sessions and its room keys (nobody has to verify the bot again).

The crypto store is nio's SQLite database: the Olm account, the Olm sessions and the inbound room keys are pickled
(encrypted) with the pickle key. All of them are read under the old key first — a wrong old key changes nothing — and
written under the new one in one transaction; the cross-signing key file is written beside its old self first and
put in its place once that transaction is committed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from nio.store import DefaultStore

from bot.matrix.crosssign import load_keys, save_keys


class RepickleError(Exception):
    """The crypto store cannot be read under the old key, or is not there."""


def repickle(state_dir: Path, user_id: str, old: str, new: str) -> dict[str, int]:
    """Re-encrypt the crypto store and the cross-signing key file of the bot in `state_dir` (stopped) under `new`.
    What was written anew, by kind."""
    credentials = state_dir / "credentials.json"
    if not credentials.exists():
        raise RepickleError(f"{credentials} is missing: the bot has never logged in, so there is nothing to re-encrypt"
                            " (start it with the new key instead)")
    device = str(json.loads(credentials.read_text())["device_id"])
    store = DefaultStore(user_id, device, str(state_dir / "crypto"), pickle_key=old)
    try:
        try:
            account = store.load_account()
            sessions = store.load_sessions()
            room_keys = list(store.load_inbound_group_sessions())
        except Exception as err:  # vodozemac says only that the pickle would not open
            raise RepickleError(f"the crypto store does not open under the pickle key in use ({err})") from err
        if account is None:
            raise RepickleError(f"the crypto store holds no account of {user_id} device {device}")
        key_file = state_dir / "cross-signing.keys"
        staged = key_file.with_name(key_file.name + ".new")
        if key_file.exists():
            save_keys(load_keys(key_file, old, user_id), staged, new, user_id)
        store.pickle_key = new
        counts = {"account": 1, "olm_sessions": 0, "room_keys": 0, "cross_signing": int(key_file.exists())}
        with store.database.atomic():
            store.save_account(account)
            for curve_key, olm_sessions in sessions.items():
                for session in olm_sessions:
                    store.save_session(curve_key, session)
                    counts["olm_sessions"] += 1
            for room_key in room_keys:
                store.save_inbound_group_session(room_key)
                counts["room_keys"] += 1
        if key_file.exists():
            os.replace(staged, key_file)
        return counts
    finally:
        store.database.close()
