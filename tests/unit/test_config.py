from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, get_args, get_origin

import pytest
from pydantic import BaseModel

from bot import config as config_module
from bot.config import ConfigError
from bot.config.lines import key_lines
from tests.harness.botrunner import write_config

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"
MINIMAL = """
[matrix]
homeserver = "https://matrix.example.org"
user_id = "@jourbot:example.org"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def problems_of(tmp_path: Path, text: str) -> list[str]:
    """The lines of the refusal, each `file:line: [section] key: …`, with the file's path cut to `config.toml`."""
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        config_module.load(path)
    return [line.replace(str(path), "config.toml") for line in str(err.value).splitlines()]


def test_minimal_config_loads_with_defaults(tmp_path):
    config = config_module.load(write(tmp_path, MINIMAL))
    assert config.matrix.homeserver == "https://matrix.example.org"
    assert config.bot.language == "sv"
    assert config.bot.catchup_window_s == 900
    assert config.matrix.trust == "tofu"
    assert config.logging.format == "text"
    assert config.state_dir == (tmp_path / "var/jourbot").resolve()
    assert config.path == (tmp_path / "config.toml").resolve()
    assert config.storage.database == ""  # SQLite in the state folder


def test_a_postgresql_database_is_taken_as_written(tmp_path):
    url = "postgresql://jourbot@db1:5432,db2:5432/jourbot?target_session_attrs=read-write"
    config = config_module.load(write(tmp_path, MINIMAL + f"\n[storage]\ndatabase = '{url}'\n"))
    assert config.storage.database == url


def test_example_config_is_valid():
    config = config_module.load(EXAMPLE)
    assert config.roles.police_rooms


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (MINIMAL + "\n[bot]\nlanguage = 'de'\n", "config.toml:7: [bot] language: expected 'sv' or 'en', got 'de'"),
        (MINIMAL + "\n[bot]\ncatchup_window_s = 'soon'\n",
         "config.toml:7: [bot] catchup_window_s: expected a whole number, got 'soon'"),
        # TOML has types: a number in quotes, or true for a count, is a mistake to name, not a value to convert.
        (MINIMAL + "\n[bot]\ncatchup_window_s = '900'\n",
         "config.toml:7: [bot] catchup_window_s: expected a whole number, got '900'"),
        (MINIMAL + "\n[alarms]\nrate_limit_count = true\n",
         "config.toml:7: [alarms] rate_limit_count: expected a whole number, got True"),
        (MINIMAL + "\n[bot]\nlangauge = 'sv'\n", "config.toml:7: [bot] langauge: unknown key (known keys here: "),
        ("[matrix]\nuser_id = '@a:b'\n", "config.toml:1: [matrix] homeserver: missing; expected a string"),
        (MINIMAL.replace("@jourbot:example.org", "jourbot"),
         "config.toml:4: [matrix] user_id: expected a Matrix user id such as @jourbot:example.org"),
        (MINIMAL + "\n[roles]\npolice = ['polis', '@ok:example.org', 'x']\n",
         "config.toml:7: [roles] police: expected Matrix user ids, got 'polis', 'x'"),
        (MINIMAL + "\n[matrix.extra]\n", "config.toml:6: [matrix] extra: unknown key"),
        ("sms = 5\n" + MINIMAL, "config.toml:1: sms: expected a table, got 5"),
        ("rosters = 'r'\n", "config.toml: matrix: missing; expected a table"),
        (MINIMAL + "\n[units.farsta]\nroom = '#farsta:example.org'\n",
         "config.toml:7: [units.farsta] room: expected a room id such as !abc:example.org, got '#farsta:example.org'"),
        (MINIMAL + "\n[units.farsta]\nrom = '!f:example.org'\n",
         "config.toml:7: [units.farsta] rom: unknown key (known keys here: repeat_page, room)"),
        (MINIMAL + "\n[roles]\npolice = '@p:example.org'\n",
         "config.toml:7: [roles] police: expected a list, got '@p:example.org'"),
        (MINIMAL + "\n[bot]\nlog_level = 'LOUD'\n",
         "config.toml:7: [bot] log_level: expected DEBUG, INFO, WARNING, ERROR or CRITICAL, got 'LOUD'"),
        (MINIMAL + "\n[logging]\nformat = 'xml'\n", "config.toml:7: [logging] format: expected 'text' or 'json', got"),
        (MINIMAL + "\n[storage]\ndatabase = 'mysql://db/jour'\n",
         "config.toml:7: [storage] database: expected a postgresql:// URL"),
        (MINIMAL + "\n[storage]\ndatabase = 'postgresql://bot:hemligt@db/jour'\n",
         "config.toml:7: [storage] database: the URL holds a password"),
        (MINIMAL + "\n[storage]\ndatabase = 'postgresql://bot@db1,db2/jour?target_session_attrs=read-write&password=x'\n",
         "config.toml:7: [storage] database: the URL holds a password"),
    ],
)
def test_wrong_config_is_refused_naming_file_line_and_key(tmp_path, text, expected):
    problems = problems_of(tmp_path, text)
    assert len(problems) == 1 and problems[0].startswith(expected), problems


def test_a_wrong_key_in_sms_is_reported_at_its_own_line_not_another_sections(tmp_path):
    """The issue's case: `enabled` is also a key of [web] and [monitoring], above [sms]; the old search for the key's
    name pointed at the first of them."""
    text = MINIMAL + ('\n[web]\nenabled = false\ntimeout_s = 1\n\n[monitoring]\nenabled = true\n'
                      '\n[sms]\nenabled = "yes"\nurl = 5\nenable = true\ntimeout_s = 0\n')
    assert problems_of(tmp_path, text) == [
        "config.toml:8: [web] timeout_s: unknown key (known keys here: enabled, feed_days, host, idle_timeout_s,"
        " link_ttl_s, port, public_url, session_ttl_s)",
        "config.toml:14: [sms] enabled: expected true or false, got 'yes'",
        "config.toml:15: [sms] url: expected a string, got 5",
        "config.toml:16: [sms] enable: unknown key (known keys here: enabled, password_env, password_file, sender,"
        " timeout_s, unseen_after_s, url, username_env, username_file)",
        "config.toml:17: [sms] timeout_s: expected a positive number, got 0",
    ]


def test_each_check_in_table_is_reported_at_its_own_header_and_key(tmp_path):
    text = MINIMAL + ('\n[[checkin]]\nunit = "a"\nanswer_within_min = 30\n'
                      '\n[[checkin]]\nunit = "b"\nanswer_within_min = 0\nrole = ["primary"]\n'
                      '\n[[checkin]]\nanswer_within_min = 5\n')
    assert problems_of(tmp_path, text) == [
        "config.toml:12: [[checkin]] answer_within_min: expected a positive number, got 0",
        "config.toml:13: [[checkin]] role: unknown key (known keys here: answer_within_min, roles, starts, unit)",
        "config.toml:15: [[checkin]] unit: missing; expected a string",
    ]


def test_ranges_are_checked_and_every_problem_reported_at_once_in_file_order(tmp_path):
    text = MINIMAL + ("\n[web]\nport = 65536\n\n[storage]\nretention_days = 0\n\n[alarms]\nrepeat_page_at = 1.0\n"
                      "step_wait_override_s = -1\npage_delivery_s = 0\n\n[handover]\nremind_after_s = 0\n"
                      "\n[monitoring]\nport = -1\nsweep_age_limit_s = 0\n\n[readiness]\ndays = 32\n"
                      "\n[sms]\nunseen_after_s = -5\n")
    assert problems_of(tmp_path, text) == [
        "config.toml:7: [web] port: expected a port from 1 to 65535 (or 0: any free port), got 65536",
        "config.toml:10: [storage] retention_days: expected at least 1 day, got 0",
        "config.toml:13: [alarms] repeat_page_at: expected a share of the step's wait from 0 (never) to below 1,"
        " got 1.0",
        "config.toml:14: [alarms] step_wait_override_s: expected 0 (the rosters' waits) or more seconds, got -1",
        "config.toml:15: [alarms] page_delivery_s: expected a positive number, got 0",
        "config.toml:18: [handover] remind_after_s: expected a positive number, got 0",
        "config.toml:21: [monitoring] port: expected a port from 1 to 65535 (or 0: any free port), got -1",
        "config.toml:22: [monitoring] sweep_age_limit_s: expected a positive number, got 0",
        "config.toml:25: [readiness] days: expected 1 to 31 days, got 32",
        "config.toml:28: [sms] unseen_after_s: expected 0 (off) or more seconds, got -5",
    ]


def test_type_and_value_problems_come_together(tmp_path):
    problems = problems_of(tmp_path, MINIMAL + "\n[bot]\nlanguage = 'de'\ncatchup_window_s = -1\nfoo = 1\n")
    assert [p.split(": ")[0:2] for p in problems] == [["config.toml:7", "[bot] language"],
                                                      ["config.toml:8", "[bot] catchup_window_s"],
                                                      ["config.toml:9", "[bot] foo"]]


def test_dotted_keys_and_inline_tables_are_placed(tmp_path):
    text = MINIMAL + "\n[units]\nfarsta.room = 'farsta'\nskarholmen = { room = 'x' }\n"
    assert problems_of(tmp_path, text) == [
        "config.toml:7: [units.farsta] room: expected a room id such as !abc:example.org, got 'farsta'",
        # Keys inside an inline table are reported at the line of the key that holds the table.
        "config.toml:8: [units.skarholmen] room: expected a room id such as !abc:example.org, got 'x'",
    ]


def test_the_line_scanner_reads_past_multi_line_values():
    text = ('a = """\nenabled = 1\n"""\nb = [\n  "x",  # enabled = 2\n  [1, 2],\n]\n[t]\n"quoted key" = 1\n'
            "c.d = 'e'  # [u]\nlit = '''\n[v]\n'''\n[[arr]]\nk = 1\n[[arr]]\nk = 2\n[arr.sub]\nm = 1\n")
    assert tomllib.loads(text)  # the sample is TOML
    lines = key_lines(text)
    assert lines[("a",)] == 1 and lines[("b",)] == 4 and ("enabled",) not in lines
    assert lines[("t", "quoted key")] == 9 and lines[("t", "c", "d")] == 10 and ("u",) not in lines
    assert ("v",) not in lines and lines[("t", "lit")] == 11
    assert lines[("arr", 0, "k")] == 15 and lines[("arr", 1, "k")] == 17 and lines[("arr", 1, "sub", "m")] == 19


def leaves(value: object, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every key's path in a parsed TOML document, array-of-tables elements by position."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in leaves(v, (*path, k))] or [path]
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return [p for i, v in enumerate(value) for p in leaves(v, (*path, i))]
    return [path]


def test_the_line_scanner_places_every_key_of_the_example_where_it_is_written():
    text = example_with_commented_tables_text()
    lines = key_lines(text)
    numbered = text.splitlines()
    for path in leaves(tomllib.loads(text)):
        line = numbered[lines[path] - 1]
        assert re.match(rf"\s*{re.escape(str(path[-1]))}\s*=", line), (path, line)


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


def test_file_paths_name_environment_variables_and_an_unset_one_is_refused(tmp_path, monkeypatch):
    """systemd hands secrets over in ${CREDENTIALS_DIRECTORY}; a key file of mode 0400 (as LoadCredential= makes
    them) is private enough."""
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    key = "Zq8xW3vLp2Nr5tKb7Hc9Jd4Mf6Pg1Rs0"
    (credentials / "pickle.key").write_text(key)
    (credentials / "pickle.key").chmod(0o400)
    text = MINIMAL + '\n[storage]\npickle_key_env = ""\npickle_key_file = "${CREDENTIALS_DIRECTORY}/pickle.key"\n'
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(credentials))
    config = config_module.load(write(tmp_path, text))
    assert config.storage.pickle_key_file == f"{credentials}/pickle.key" and config.pickle_key() == key
    monkeypatch.delenv("CREDENTIALS_DIRECTORY")
    assert problems_of(tmp_path, text) == [
        "config.toml:8: [storage] pickle_key_file: the environment variable CREDENTIALS_DIRECTORY in"
        " '${CREDENTIALS_DIRECTORY}/pickle.key' is not set (systemd sets it for a unit with LoadCredential=; run"
        " outside systemd, name the file itself)"]


def test_check_in_and_readiness_settings_are_checked(tmp_path):
    path = write_config(tmp_path / "bot", "http://127.0.0.1:9", "secret", ["!r:localhost"], ["@p:localhost"],
                        extra='\n[readiness]\nreport_at = "9"\n\n[[checkin]]\nunit = "socialjouren"\n'
                              'roles = ["primär"]\nstarts = ["22.00"]\nanswer_within_min = 0\n')
    with pytest.raises(ConfigError) as caught:
        config_module.load(path)
    text = str(caught.value)
    for expected in ("[readiness] report_at: expected a time such as \"09:00\" (or \"\"), got '9'",
                     "[[checkin]] roles: expected primary, secondary or supervisor, got 'primär'",
                     "[[checkin]] starts: expected times such as \"22:00\", got '22.00'",
                     "[[checkin]] answer_within_min: expected a positive number, got 0"):
        assert expected in text


# --- config.example.toml and the model never drift apart --------------------------------------------------------

# Keys whose value in the example is an example, not the default; (section, key), a table's entries sharing one.
EXAMPLE_VALUES = {("bot", "allowed_inviters"), ("roles", "police"), ("roles", "police_rooms"), ("units", "room"),
                  ("checkin", "unit"), ("checkin", "starts"), ("matrix", "homeserver"), ("matrix", "user_id")}


def example_with_commented_tables() -> dict[str, object]:
    """The example as TOML, with its commented-out tables ([[checkin]]) read too: they document keys as well."""
    return tomllib.loads(example_with_commented_tables_text())


def example_with_commented_tables_text() -> str:
    text = EXAMPLE.read_text()
    # A commented header and the commented `key = value` lines right under it.
    uncommented = re.sub(r"(?m)^# (\[\[?[\w.]+\]\]?\n)((?:# [a-z_]+ = .*\n)+)",
                         lambda m: m.group(1) + m.group(2).replace("# ", "", 1).replace("\n# ", "\n"), text)
    assert uncommented != text, "the example's commented [[checkin]] table was not found"
    return uncommented


def drift(model: type[BaseModel], raw: dict[str, object], where: str) -> list[str]:
    found = []
    for key in raw.keys() - model.model_fields.keys():
        found.append(f"{where}{key}: in config.example.toml, unknown to the model")
    for name, field in model.model_fields.items():
        if name not in raw:
            found.append(f"{where}{name}: in the model, not documented in config.example.toml")
            continue
        tp = get_args(field.annotation)[0] if get_origin(field.annotation) is Annotated else field.annotation
        value = raw[name]
        entries = (list(value.values()) if get_origin(tp) is dict else value) if get_origin(tp) in (dict, list) \
            else None
        inner = get_args(tp)[-1] if entries is not None else tp
        if isinstance(inner, type) and issubclass(inner, BaseModel) and entries is not None:
            shown: set[str] = set()
            for entry in entries:
                shown |= entry.keys()
                found += [p for p in drift(inner, entry, f"[{name}] ") if "not documented" not in p]
            found += [f"[{name}] {key}: in the model, not documented in config.example.toml"
                      for key in inner.model_fields.keys() - shown]
        elif isinstance(tp, type) and issubclass(tp, BaseModel):
            found += drift(tp, value, f"[{name}] ")
        elif (where.strip("[] "), name) not in EXAMPLE_VALUES and value != field.default:
            found.append(f"{where}{name}: the example shows {value!r}, the default is {field.default!r}")
    return found


def test_example_config_documents_every_key_of_the_model_with_its_default():
    """config.example.toml says every key is shown with its default, except the (example) values; a key added to
    the model and not to the example, or left in the example after it left the model, fails here."""
    raw = example_with_commented_tables()
    assert drift(config_module.Config, raw, "") == []
    config_module.Config.model_validate(raw)  # the commented tables are valid too


def test_the_drift_check_notices_an_undocumented_or_unknown_key():
    raw = example_with_commented_tables()
    sms = dict(raw["sms"])  # type: ignore[call-overload]
    del sms["timeout_s"]
    sms["retries"] = 3
    checkins = [{**raw["checkin"][0], "answer_within_min": 45}]  # type: ignore[index]
    problems = drift(config_module.Config, {**raw, "sms": sms, "checkin": checkins}, "")
    assert sorted(problems) == ["[checkin] answer_within_min: the example shows 45, the default is 30",
                                "[sms] retries: in config.example.toml, unknown to the model",
                                "[sms] timeout_s: in the model, not documented in config.example.toml"]
