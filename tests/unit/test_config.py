from __future__ import annotations

from pathlib import Path

import pytest

from bot import config as config_module
from bot.config import ConfigError
from tests.harness.botrunner import write_config

MINIMAL = """
[matrix]
homeserver = "https://matrix.example.org"
user_id = "@jourbot:example.org"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_minimal_config_loads_with_defaults(tmp_path):
    config = config_module.load(write(tmp_path, MINIMAL))
    assert config.matrix.homeserver == "https://matrix.example.org"
    assert config.bot.language == "sv"
    assert config.bot.catchup_window_s == 900
    assert config.matrix.trust == "tofu"
    assert config.state_dir == (tmp_path / "var/jourbot").resolve()


def test_example_config_is_valid():
    config = config_module.load(Path(__file__).resolve().parents[2] / "config.example.toml")
    assert config.roles.police_rooms


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (MINIMAL + "\n[bot]\nlanguage = 'de'\n", "bot.language: expected 'sv' or 'en', got 'de'"),
        (MINIMAL + "\n[bot]\ncatchup_window_s = 'soon'\n", "bot.catchup_window_s: expected a whole number"),
        (MINIMAL + "\n[bot]\nlangauge = 'sv'\n", "bot.langauge: unknown key"),
        ("[matrix]\nuser_id = '@a:b'\n", "matrix.homeserver: missing; expected a string"),
        (MINIMAL.replace("@jourbot:example.org", "jourbot"), "matrix.user_id: expected a Matrix user id"),
        (MINIMAL + "\n[roles]\npolice = ['polis']\n", "roles.police: expected Matrix user ids"),
        (MINIMAL + "\n[matrix.extra]\n", "matrix.extra: unknown key"),
    ],
)
def test_wrong_config_is_refused_naming_file_and_key(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        config_module.load(path)
    assert str(path) in str(err.value)
    assert expected in str(err.value)


def test_error_names_the_line(tmp_path):
    path = write(tmp_path, MINIMAL + "\n[bot]\nlanguage = 'de'\n")
    with pytest.raises(ConfigError) as err:
        config_module.load(path)
    assert f"{path}:7: bot.language" in str(err.value)


def test_every_problem_reported_at_once(tmp_path):
    path = write(tmp_path, MINIMAL + "\n[bot]\nlanguage = 'de'\ncatchup_window_s = -1\nfoo = 1\n")
    with pytest.raises(ConfigError) as err:
        config_module.load(path)
    assert "bot.language" in str(err.value) and "bot.foo" in str(err.value)


def test_invalid_toml_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        config_module.load(write(tmp_path, "[matrix\n"))


def test_secrets_from_environment_and_file(tmp_path, monkeypatch):
    (tmp_path / "pw").write_text("from-file\n")
    text = MINIMAL + 'password_file = "pw"\n\n[storage]\npickle_key_env = "TEST_PICKLE"\n'
    config = config_module.load(write(tmp_path, text))
    assert config.password() == "from-file"
    monkeypatch.setenv("TEST_PICKLE", "pickle-secret-Zq8xW3vLp2Nr5tK")
    assert config.pickle_key() == "pickle-secret-Zq8xW3vLp2Nr5tK"
    monkeypatch.delenv("TEST_PICKLE")
    with pytest.raises(ConfigError, match="TEST_PICKLE"):
        config.pickle_key()


def test_check_in_and_readiness_settings_are_checked(tmp_path):
    path = write_config(tmp_path / "bot", "http://127.0.0.1:9", "secret", ["!r:localhost"], ["@p:localhost"],
                        extra='\n[readiness]\nreport_at = "9"\n\n[[checkin]]\nunit = "socialjouren"\n'
                              'roles = ["primär"]\nstarts = ["22.00"]\nanswer_within_min = 0\n')
    with pytest.raises(ConfigError) as caught:
        config_module.load(path)
    text = str(caught.value)
    for key in ("readiness.report_at", "checkin.roles", "checkin.starts", "checkin.answer_within_min"):
        assert key in text


def test_example_config_shows_every_default_of_the_code():
    """config.example.toml says every key is shown with its default, except the (example) values."""
    import dataclasses
    import tomllib

    raw = tomllib.loads((Path(__file__).resolve().parents[2] / "config.example.toml").read_text())
    examples = {("bot", "allowed_inviters"), ("roles", "police"), ("roles", "police_rooms")}
    sections = {f.name: f.type for f in dataclasses.fields(config_module.Config)}
    for section, values in raw.items():
        if not isinstance(values, dict) or section in ("matrix", "units"):
            continue
        cls = getattr(config_module, sections[section]) if isinstance(sections[section], str) else sections[section]
        defaults = {f.name: f.default if f.default is not dataclasses.MISSING else f.default_factory()
                    for f in dataclasses.fields(cls)}
        for key, value in values.items():
            if (section, key) not in examples:
                assert value == defaults[key], f"[{section}] {key}"
        assert set(values) == set(defaults), f"[{section}] lacks {set(defaults) - set(values)}"
    matrix = {f.name: f.default for f in dataclasses.fields(config_module.MatrixConfig)}
    for key, value in raw["matrix"].items():
        if key not in ("homeserver", "user_id"):
            assert value == matrix[key], f"[matrix] {key}"
    assert set(raw["matrix"]) == set(matrix)
    assert raw["rosters"] == config_module.Config.__dataclass_fields__["rosters"].default
