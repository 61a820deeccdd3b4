"""Both dialects of the store: the same schema from their own migration steps, and SQL translated once."""

from __future__ import annotations

from typing import Any

from bot.store import STEPS, Store
from bot.store.db import Database
from bot.store.migrations import PG_STEPS
from bot.store.postgres import translate
from bot.store.secretbox import SecretBox

Schema = dict[str, Any]
TYPES = {"INTEGER": "bigint", "REAL": "double precision", "FLOAT": "double precision", "TEXT": "text"}


def sqlite_schema(db: Database) -> Schema:
    tables: dict[str, dict[str, tuple[str, bool]]] = {}
    keys: dict[str, list[str]] = {}
    indexes: set[tuple[str, str, tuple[str, ...], bool]] = set()
    uniques: set[tuple[str, tuple[str, ...]]] = set()
    names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in names:
        info = db.execute(f"PRAGMA table_info({table})").fetchall()
        # a key's NOT NULL is SQLite's quirk (a TEXT key may be NULL there); PostgreSQL always says it: not compared
        tables[table] = {r[1]: (TYPES[r[2]], bool(r[3]) and not r[5]) for r in info}
        keys[table] = [r[1] for r in sorted(info, key=lambda r: r[5]) if r[5]]
        for _, name, unique, origin, _ in db.execute(f"PRAGMA index_list({table})").fetchall():
            columns = tuple(r[2] for r in db.execute(f"PRAGMA index_info({name})").fetchall())
            if origin == "c":
                indexes.add((table, name, columns, bool(unique)))
            elif origin == "u":
                uniques.add((table, columns))
    return {"tables": tables, "keys": keys, "indexes": indexes, "uniques": uniques}


def postgres_schema(db: Database) -> Schema:
    tables: dict[str, dict[str, tuple[str, bool]]] = {}
    keys: dict[str, list[str]] = {}
    for table, column, kind, nullable in db.execute(
            "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns"
            " WHERE table_schema = current_schema()"):
        tables.setdefault(table, {})[column] = (kind, nullable == "NO")
    for table, column in db.execute(
            "SELECT tc.table_name, k.column_name FROM information_schema.table_constraints tc"
            " JOIN information_schema.key_column_usage k ON k.constraint_name = tc.constraint_name"
            " AND k.table_schema = tc.table_schema WHERE tc.table_schema = current_schema()"
            " AND tc.constraint_type = 'PRIMARY KEY' ORDER BY k.ordinal_position"):
        keys.setdefault(table, []).append(column)
        tables[table][column] = (tables[table][column][0], False)
    indexes: set[tuple[str, str, tuple[str, ...], bool]] = set()
    uniques: set[tuple[str, tuple[str, ...]]] = set()
    for table, name, columns, unique, constraint in db.execute(
            "SELECT t.relname, i.relname, ARRAY(SELECT a.attname FROM unnest(x.indkey) WITH ORDINALITY AS k(n, o)"
            " JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.n ORDER BY k.o), x.indisunique,"
            " EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid) FROM pg_index x"
            " JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid"
            " JOIN pg_namespace s ON s.oid = t.relnamespace WHERE s.nspname = current_schema()"
            " AND NOT x.indisprimary"):
        if constraint:
            uniques.add((table, tuple(columns)))
        else:
            indexes.add((table, name, tuple(columns), bool(unique)))
    return {"tables": tables, "keys": keys, "indexes": indexes, "uniques": uniques}


def test_both_dialects_number_the_same_steps():
    assert len(PG_STEPS) == len(STEPS)


def test_both_dialects_reach_the_same_tables_columns_keys_and_indexes(tmp_path, postgres):
    lite = Store(tmp_path / "lite" / "jourbot.db", SecretBox("k"))
    url = postgres.create_database()
    pg = Store(tmp_path / "pg" / "jourbot.db", SecretBox("k"), database=url)
    try:
        expected, found = sqlite_schema(lite.db), postgres_schema(pg.db)
        assert set(found["tables"]) == set(expected["tables"])
        for table, columns in expected["tables"].items():
            assert found["tables"][table] == columns, table
        assert found["keys"] == {t: k for t, k in expected["keys"].items() if k}
        assert found["indexes"] == expected["indexes"]
        assert found["uniques"] == expected["uniques"]
    finally:
        lite.close()
        pg.close()
        postgres.drop_database(url)


def test_statements_are_translated_to_postgresql_words():
    assert translate("SELECT a FROM t WHERE b = ? AND c IN (SELECT value FROM json_each(?))") == \
        "SELECT a FROM t WHERE b = %s AND c IN (SELECT jsonb_array_elements_text(%s::jsonb))"
    assert translate("DELETE FROM t WHERE at < :cutoff AND x LIKE '10%'") == \
        "DELETE FROM t WHERE at < %(cutoff)s AND x LIKE '10%%'"


def test_a_lost_peer_is_given_up_within_seconds_on_both_sides_unless_the_url_says_otherwise(tmp_path, postgres):
    url = postgres.create_database()
    try:
        ours = Store(tmp_path / "a" / "jourbot.db", SecretBox("k"), database=url)
        theirs = Store(tmp_path / "b" / "jourbot.db", SecretBox("k"),
                       database=url + "?keepalives_idle=30&options=-c%20tcp_keepalives_idle%3D40")
        try:
            assert ours.db.execute("SHOW tcp_keepalives_idle").fetchone()[0] == "5"
            assert ours.db.execute("SHOW tcp_user_timeout").fetchone()[0] == "10000"
            assert ours.db.conn.info.get_parameters()["keepalives_idle"] == "5"
            assert theirs.db.execute("SHOW tcp_keepalives_idle").fetchone()[0] == "40"
            assert theirs.db.conn.info.get_parameters()["keepalives_idle"] == "30"
        finally:
            ours.close()
            theirs.close()
    finally:
        postgres.drop_database(url)
