"""The audit trail: MACs under a key derived from the data key, the head outside the database, `jourbot audit verify`
against it and against a head from chat, private parts the purge may take, and old (unkeyed) chains MACed anew."""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import stat

from bot import config as config_module
from bot.cli.main import main
from bot.store import Store, audit_head_path
from bot.store.audit import GENESIS, HEAD_WRITE_AFTER_S
from bot.store.secretbox import SecretBox
from tests.harness.botrunner import TEST_DATA_KEY, write_config


def trail_of(tmp_path, entries: int = 6):
    path = write_config(tmp_path / "bot", "http://127.0.0.1:9", "secret", ["!r:localhost"], ["@p:localhost"])
    db = config_module.load(path).state_dir / "jourbot.db"
    store = Store(db, SecretBox(TEST_DATA_KEY))
    for n in range(entries):
        with store.transaction():
            store.audit.append("@p:x", "alarm.raised", f"L{n + 1}", {"status": "open", "step": 0})
    store.close()
    return path, db


def unkeyed(prev: str, at: float, actor: str, action: str, subject: str, data: str) -> str:
    """The chain as jourbot made it before the key: anyone can compute it."""
    return hashlib.sha256(json.dumps([prev, repr(at), actor, action, subject, data],
                                     separators=(",", ":")).encode()).hexdigest()


def test_the_head_is_written_outside_the_database_after_each_commit(tmp_path):
    _, db = trail_of(tmp_path, 3)
    head = json.loads(audit_head_path(db).read_text())
    assert head["seq"] == 3 and len(head["mac"]) == 64
    assert stat.S_IMODE(audit_head_path(db).stat().st_mode) == 0o600


async def test_in_the_running_bot_the_head_follows_a_moment_later_and_at_close(tmp_path):
    """The file is replaced once for the commits of a moment, not at each one (it held up the page's send)."""
    path = write_config(tmp_path / "bot", "http://127.0.0.1:9", "secret", ["!r:localhost"], ["@p:localhost"])
    db = config_module.load(path).state_dir / "jourbot.db"
    store = Store(db, SecretBox(TEST_DATA_KEY))
    for n in range(3):
        with store.transaction():
            store.audit.append("@p:x", "alarm.raised", f"L{n + 1}", {"status": "open", "step": 0})
    written = json.loads(audit_head_path(db).read_text())["seq"] if audit_head_path(db).exists() else 0
    assert written < 3, "not at the commit itself"
    await asyncio.sleep(HEAD_WRITE_AFTER_S + 0.1)
    assert json.loads(audit_head_path(db).read_text())["seq"] == 3
    with store.transaction():
        store.audit.append("@p:x", "alarm.closed", "L1", {})
    store.close()  # a write still waiting is made before the database closes
    assert json.loads(audit_head_path(db).read_text())["seq"] == 4


def test_verify_exits_1_after_the_last_3_entries_are_deleted(tmp_path, capsys):
    path, db = trail_of(tmp_path)
    assert main(["audit", "verify", "-c", str(path)]) == 0
    conn = sqlite3.connect(db)
    conn.execute("DELETE FROM audit WHERE seq > (SELECT MAX(seq) - 3 FROM audit)")
    conn.commit()
    conn.close()
    capsys.readouterr()
    assert main(["audit", "verify", "-c", str(path)]) == 1
    err = capsys.readouterr().err
    assert "the trail ends at entry 3, but the head in the head file" in err and "3 entries were removed" in err
    assert main(["audit", "verify", "-c", str(path), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["entries"] == 3 and report["head_file"]["seq"] == 6


def test_verify_exits_1_when_the_head_file_is_deleted_with_them_but_a_head_from_chat_is_given(tmp_path, capsys):
    path, db = trail_of(tmp_path)
    posted = json.loads(audit_head_path(db).read_text())
    conn = sqlite3.connect(db)
    conn.execute("DELETE FROM audit WHERE seq > 3")
    conn.commit()
    conn.close()
    # whoever cut the trail also made the file say what the trail now ends with
    row = sqlite3.connect(db).execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    audit_head_path(db).write_text(json.dumps({"seq": row[0], "mac": row[1]}))
    assert main(["audit", "verify", "-c", str(path)]) == 0, "the file alone can be forged along"
    chat = f"{posted['seq']}:{posted['mac']}"
    assert main(["audit", "verify", "-c", str(path), "--head", chat]) == 1
    assert "the head in chat is entry 6" in capsys.readouterr().err


def test_verify_exits_1_after_one_entry_is_rewritten_and_the_chain_recomputed(tmp_path, capsys):
    path, db = trail_of(tmp_path)
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT seq, at, actor, action, subject, data FROM audit ORDER BY seq").fetchall()
    prev = GENESIS
    for seq, at, actor, action, subject, data in rows:
        if seq == 2:
            actor = "@mallory:x"
        mac = unkeyed(prev, at, actor, action, subject, data)  # the best one can do without the key
        conn.execute("UPDATE audit SET actor = ?, prev = ?, hash = ? WHERE seq = ?", [actor, prev, mac, seq])
        prev = mac
    conn.commit()
    conn.close()
    # the head file made to agree as well
    audit_head_path(db).write_text(json.dumps({"seq": rows[-1][0], "mac": prev}))
    assert main(["audit", "verify", "-c", str(path)]) == 1
    assert "entry 1: altered" in capsys.readouterr().err


def test_a_protection_decision_is_kept_apart_and_the_purge_takes_it_without_breaking_the_chain(tmp_path, database):
    clock = [1_000_000_000.0]
    store = Store(tmp_path / "db", SecretBox(TEST_DATA_KEY), clock=lambda: clock[0], database=database)
    with store.transaction():
        store.audit.append("@a:x", "phase.recorded", "L1", {"phase": "assessment", "made": True,
                                                            "decision": "emergency_placement"})
        store.audit.append("guard", "alarmroom.refused", "L1", {"reason": "forbidden"})
    kept, private = store.db.execute("SELECT data, private FROM audit WHERE action = 'phase.recorded'").fetchone()
    assert json.loads(kept) == {"made": True, "phase": "assessment"}
    assert "emergency_placement" in private and json.loads(private)["nonce"]
    (entry,) = [e for e in store.audit.about("L1") if e["action"] == "phase.recorded"]
    assert json.loads(entry["data"])["decision"] == "emergency_placement", "read whole until purged"
    clock[0] += 400 * 86400
    store.retention.purge(clock[0], 365)
    assert store.db.execute("SELECT COUNT(*) FROM audit WHERE private IS NOT NULL").fetchone()[0] == 0
    (entry,) = [e for e in store.audit.about("L1") if e["action"] == "phase.recorded"]
    assert json.loads(entry["data"]) == {"made": True, "phase": "assessment"}
    assert store.audit.verify()[0]
    store.close()


def test_an_old_unkeyed_chain_is_maced_anew_once_and_that_is_recorded(tmp_path, monkeypatch):
    from bot.store import STEPS

    db = tmp_path / "state" / "jourbot.db"
    monkeypatch.setattr("bot.store.migrations.STEPS", STEPS[:12])
    old = Store(db, SecretBox(TEST_DATA_KEY))
    prev = GENESIS
    with old.transaction():
        for n, data in enumerate(('{"status":"open","step":0}', '{"decision":"relative","phase":"assessment"}')):
            mac = unkeyed(prev, float(n), "@p:x", "alarm.raised", "L1", data)
            old.db.execute("INSERT INTO audit(at, actor, action, subject, data, prev, hash)"
                           " VALUES (?, ?, ?, ?, ?, ?, ?)", [float(n), "@p:x", "alarm.raised", "L1", data, prev, mac])
            prev = mac
    old.close()
    monkeypatch.undo()

    new = Store(db, SecretBox(TEST_DATA_KEY))
    ok, count, _ = new.audit.verify()
    assert ok and count == 3
    (rekeyed,) = [e for e in new.audit.entries() if e["action"] == "audit.rekeyed"]
    assert json.loads(rekeyed["data"]) == {"entries": 2, "from": "sha256", "old_chain": "intact"}
    data = [row[0] for row in new.db.execute("SELECT data FROM audit WHERE subject = 'L1'")]
    assert "relative" not in json.dumps(data), "the decision moved to the private part"
    new.close()
    again = Store(db, SecretBox(TEST_DATA_KEY))
    assert again.audit.verify()[1] == 3, "only once"
    again.close()
