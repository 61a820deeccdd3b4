"""`jourbot stats` refuses what it cannot read with a clear message, before it opens the database."""

from __future__ import annotations

from bot.cli.main import main
from tests.harness.botrunner import write_config
from tests.harness.handover import ROSTERS


def test_an_unknown_area_or_a_period_backwards_is_refused_and_no_database_is_made(tmp_path, capsys):
    config = write_config(tmp_path / "bot", "http://127.0.0.1:9", "unused", ["!police:localhost"],
                          ["@polis1:localhost"], rosters=ROSTERS)
    assert main(["stats", "--from", "2026-02-01", "--to", "2026-02-28", "--area", "Atlantis", "--csv",
                 "-c", str(config)]) == 2
    assert "unknown area 'Atlantis'; the areas are: Farsta" in capsys.readouterr().err
    assert main(["stats", "--from", "2026-02-28", "--to", "2026-02-01", "--csv", "-c", str(config)]) == 2
    assert "--to 2026-02-01 is before --from 2026-02-28" in capsys.readouterr().err
    assert not (tmp_path / "bot" / "state" / "jourbot.db").exists()
