"""The structure check of `make lint` (.ci/check_structure.py), on small planted trees and on this repository.

Each planted tree is a clean one (bot/, bot/core/, bot/store/, handlers/, rosters/) with one problem added; the check
must exit 1 and name it, one line per problem, and pass the clean tree.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("check_structure", ROOT / ".ci" / "check_structure.py")
assert _spec and _spec.loader
check = importlib.util.module_from_spec(_spec)
sys.modules["check_structure"] = check
_spec.loader.exec_module(check)

CLEAN = {
    "rosters/__init__.py": "",
    "rosters/model.py": "from dataclasses import dataclass\n\n\n@dataclass\nclass Person:\n    name: str\n",
    "bot/__init__.py": "",
    "bot/core/__init__.py": '"""Nothing re-exported."""\n',
    "bot/core/ids.py": "from rosters.model import Person\n\n\ndef alarm_id(n: int) -> str:\n    return f'L{n}'\n",
    "handlers/__init__.py": (
        "from handlers import alarm\n"
        "from handlers.registry import Registry\n\n\n"
        "def build() -> Registry:\n"
        "    return alarm.register(Registry())\n"
    ),
    "handlers/registry.py": "class Registry:\n    pass\n",
    "handlers/alarm.py": (
        "from typing import TYPE_CHECKING\n\n"
        "from bot.core.ids import alarm_id\n"
        "from handlers.registry import Registry\n"
        "from rosters import model\n\n"
        "if TYPE_CHECKING:\n"
        "    from bot.core import ids\n\n\n"
        "def register(registry: Registry) -> Registry:\n"
        "    return registry\n"
    ),
    "bot/store/__init__.py": (
        "from bot.store.alarms import Alarms\n"
        "from bot.store.db import Database\n\n\n"
        "class Store:\n"
        "    def __init__(self) -> None:\n"
        "        self.alarms = Alarms(Database())\n"
    ),
    "bot/store/db.py": "class Database:\n    def execute(self, sql, params=()):\n        return sql\n",
    "bot/store/alarms.py": (
        "from bot.store.db import Database\n\n"
        "_COLUMNS = 'id, state'\n\n\n"
        "class Alarms:\n"
        "    def __init__(self, db: Database) -> None:\n"
        "        self.db = db\n\n"
        "    def get(self, alarm_id):\n"
        "        return self.db.execute(f'SELECT {_COLUMNS} FROM alarms WHERE id = ?', [alarm_id])\n\n"
        "    def joined(self):\n"
        "        return self.db.execute(\n"
        "            f\"SELECT {', '.join('a.' + c.strip() for c in _COLUMNS.split(','))} FROM alarms a\"\n"
        "            ' WHERE a.state = ?', ['open'])\n\n"
        "    def page(self, limit):\n"
        "        return self.db.execute('SELECT ' + _COLUMNS + ' FROM alarms LIMIT ?', [limit])\n"
    ),
    "bot/app.py": (
        "import handlers\n"
        "from bot.core import ids\n"
        "from bot.store import Alarms, Store\n\n"
        "\n\n"
        "def start() -> Store:\n"
        "    return Store()\n"
    ),
}


def run(tmp_path: Path, capsys: pytest.CaptureFixture[str], changes: dict[str, str] | None = None
        ) -> tuple[int, list[str]]:
    """The check on the clean tree with `changes` (path → text; the text is appended when it starts with "+")."""
    files = dict(CLEAN)
    for path, text in (changes or {}).items():
        files[path] = (files.get(path, "") + text[1:]) if text.startswith("+") else text
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text, encoding="utf-8")
    code = check.main(tmp_path)
    return code, capsys.readouterr().out.splitlines()


def test_a_clean_tree_passes(tmp_path, capsys):
    code, lines = run(tmp_path, capsys)
    assert code == 0
    assert len(lines) == 1 and lines[0].startswith("structure ok: 12 modules")


def test_a_cycle_through_the_package_init(tmp_path, capsys):
    # bot/store/__init__.py imports bot.store.alarms, which reads Store from bot.store's namespace.
    code, lines = run(tmp_path, capsys, {"bot/store/alarms.py": "+from bot.store import Store\n"})
    assert code == 1
    assert lines == [
        "import cycle: bot.store → bot.store.alarms → bot.store [bot/store/__init__.py:1 Alarms from bot.store.alarms, "
        "bot/store/alarms.py:20 Store from bot.store]"
    ]


def test_a_cycle_through_a_re_export(tmp_path, capsys):
    # bot.watch reads Clock through bot/alarm/__init__.py's re-export; bot.alarm.clock imports bot.watch back.
    code, lines = run(tmp_path, capsys, {
        "bot/alarm/__init__.py": "from bot.alarm.clock import Clock\n",
        "bot/alarm/clock.py": "import bot.watch\n\n\nclass Clock:\n    pass\n",
        "bot/watch.py": "from bot.alarm import Clock\n",
    })
    assert code == 1
    assert lines == [
        "import cycle: bot.alarm → bot.alarm.clock → bot.watch → bot.alarm [bot/alarm/__init__.py:1 Clock from "
        "bot.alarm.clock, bot/alarm/clock.py:1 import bot.watch, bot/watch.py:1 Clock from bot.alarm]"
    ]


def test_importing_a_submodule_runs_its_package_init(tmp_path, capsys):
    # bot.watch imports only bot.store.db, but that runs bot/store/__init__.py, which imports bot.store.alarms.
    code, lines = run(tmp_path, capsys, {
        "bot/watch.py": "from bot.store.db import Database\n\nWATCHED = 'alarms'\n",
        "bot/store/alarms.py": "+\n\ndef watched():\n    from bot.watch import WATCHED\n",
    })
    assert code == 1
    assert len(lines) == 1
    assert lines[0].startswith("import cycle: bot.store → bot.store.alarms → bot.watch → bot.store [")


def test_a_sibling_reading_a_re_export_from_its_package_is_a_cycle(tmp_path, capsys):
    # Works or fails by the order of bot/store/__init__.py's imports: db is imported before Alarms is bound.
    code, lines = run(tmp_path, capsys, {"bot/store/db.py": "+\n\ndef alarms():\n    from bot.store import Alarms\n"})
    assert code == 1
    assert len(lines) == 1 and lines[0].startswith("import cycle: bot.store → bot.store.db → bot.store [")


def test_a_submodule_imported_through_its_own_package_runs_no_init(tmp_path, capsys):
    # bot.store is running when bot.store.db runs: reaching a sibling through it is an edge to the sibling only.
    code, lines = run(tmp_path, capsys, {"bot/store/db.py": "+from bot.store import alarms\nimport bot.store.alarms\n"})
    assert code == 1
    assert len(lines) == 1 and lines[0].startswith("import cycle: bot.store.alarms → bot.store.db → bot.store.alarms [")


def test_a_cycle_through_handlers_init(tmp_path, capsys):
    code, lines = run(tmp_path, capsys, {"handlers/alarm.py": "+\n\ndef again():\n    from handlers import build\n"})
    assert code == 1
    assert lines == [
        "import cycle: handlers → handlers.alarm → handlers [handlers/__init__.py:1 alarm from handlers, "
        "handlers/alarm.py:16 build from handlers]"
    ]


def test_a_cycle_inside_a_function_level_import(tmp_path, capsys):
    code, lines = run(tmp_path, capsys, {
        "bot/duty.py": "from bot.timers import Timers\n",
        "bot/timers.py": "class Timers:\n    def arm(self) -> None:\n        from bot import duty\n",
    })
    assert code == 1
    assert lines == [
        "import cycle: bot.duty → bot.timers → bot.duty [bot/duty.py:1 Timers from bot.timers, "
        "bot/timers.py:3 duty from bot]"
    ]


# Each statement is split so that no constant piece holds it whole (the check before issue 18 passed all but the last).
@pytest.mark.parametrize(("source", "how"), [
    ("def q(columns):\n    return f'SELECT {columns} FROM alarms'\n", " (f-string)"),
    ("def q(columns):\n    return 'SELECT ' + columns + ' FROM alarms'\n", " (concatenation)"),
    ("def q(table):\n    return 'UPDATE %s SET x = 1' % table\n", " (%-formatting)"),
    ("def q(table):\n    return 'UPDATE {} SET x = 1'.format(table)\n", " (.format)"),
    ("def q(table):\n    return ' '.join(['SELECT id', 'FROM', table])\n", " (.join)"),
    ("def q():\n    return ('SELECT id '\n            'FROM alarms')\n", ""),
])
def test_sql_outside_the_store(tmp_path, capsys, source, how):
    code, lines = run(tmp_path, capsys, {"handlers/phases.py": source})
    assert code == 1
    assert lines == [f"handlers/phases.py:2: SQL outside bot/store/{how}"]


@pytest.mark.parametrize(("source", "line", "piece", "how"), [
    ("def q(db, i):\n    return db.execute(f'SELECT id FROM alarms WHERE id = {i}')\n", 2, "i", "f-string"),
    ("def q(db, s):\n    return db.execute(\"DELETE FROM alarms WHERE state = '\" + s + \"'\")\n", 2, "s",
     "concatenation"),
    ("def q(db, sql, unit):\n    sql += f' AND unit = {unit}'\n    return db.execute(sql)\n", 2, "unit", "f-string"),
    ("def q(db, t):\n    return db.execute('SELECT id FROM %s' % t)\n", 2, "t", "%-formatting"),
    ("def q(db, self):\n    return db.execute(f'SELECT {self.columns} FROM alarms')\n", 2, "self.columns",
     "f-string"),
    # SQL_PIECES_ALLOWED names the file too: the same piece elsewhere is judged by the rule.
    ("def q(db, ids):\n    marks = ','.join('?' for _ in ids)\n"
     "    return db.execute(f'SELECT id FROM alarms WHERE id IN ({marks})', ids)\n", 3, "marks", "f-string"),
])
def test_sql_built_in_the_store_from_values(tmp_path, capsys, source, line, piece, how):
    code, lines = run(tmp_path, capsys, {"bot/store/events.py": source})
    assert code == 1
    assert lines == [f"bot/store/events.py:{line}: SQL built from `{piece}` ({how}): interpolate only constants and "
                     "ALL_CAPS names; values go in as ?"]


def test_handlers_importing_the_store(tmp_path, capsys):
    code, lines = run(tmp_path, capsys, {"handlers/alarm.py": "+\n\ndef later():\n    from bot.store import Store\n"})
    assert code == 1
    assert lines == ["handlers/alarm.py:16: imports bot.store (handlers may import only bot.core, handlers, rosters)"]


def test_handlers_importing_the_runtime_under_type_checking(tmp_path, capsys):
    code, lines = run(tmp_path, capsys, {
        "handlers/stats.py": "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from bot.app import start\n",
    })
    assert code == 1
    assert lines == ["handlers/stats.py:4: imports bot.app (handlers may import only bot.core, handlers, rosters)"]


def test_bot_core_importing_handlers(tmp_path, capsys):
    code, lines = run(tmp_path, capsys, {"bot/core/texts.py": "def f():\n    from handlers.registry import Registry\n"})
    assert code == 1
    assert lines == ["bot/core/texts.py:2: imports handlers.registry (bot.core may import only bot.core, rosters)"]


def test_rosters_importing_bot(tmp_path, capsys):
    code, lines = run(tmp_path, capsys, {"rosters/ics.py": "from bot.core import ids\n"})
    assert code == 1
    assert lines == ["rosters/ics.py:1: imports bot.core.ids (rosters may import only rosters)"]


def test_a_re_export_is_judged_by_the_module_that_defines_the_name(tmp_path, capsys):
    code, lines = run(tmp_path, capsys, {
        "bot/core/__init__.py": "+from bot.store.db import Database\n",
        "handlers/alarm.py": "+from bot.core import Database\n",
    })
    assert code == 1
    assert lines == [
        "bot/core/__init__.py:2: imports bot.store.db (bot.core may import only bot.core, rosters)",
        "handlers/alarm.py:13: imports bot.store.db (Database, through bot.core) (handlers may import only bot.core, "
        "handlers, rosters)",
    ]


def test_bot_init_runs_with_bot_core_so_it_is_held_to_its_layer(tmp_path, capsys):
    code, lines = run(tmp_path, capsys, {"bot/__init__.py": "from bot.store import Store\n"})
    assert code == 1
    assert lines == ["bot/__init__.py:1: imports bot.store (bot.core may import only bot.core, rosters)"]


def test_one_line_per_problem(tmp_path, capsys):
    code, lines = run(tmp_path, capsys, {
        "rosters/ics.py": "from bot.core import ids\n",
        "handlers/phases.py": "def q(t):\n    return f'SELECT id FROM {t}'\n",
        "bot/store/alarms.py": "+from bot.store import Store\n",
    })
    assert code == 1
    assert [line.split(":")[0] for line in lines] == ["handlers/phases.py", "rosters/ics.py", "import cycle"]


def test_this_repository_passes(capsys):
    code = check.main(ROOT)
    out = capsys.readouterr().out.splitlines()
    assert code == 0, "\n".join(out)
    assert len(out) == 1 and out[0].startswith("structure ok:")
