"""config.toml → typed, validated configuration (pydantic models).

Every problem is reported at once, each as `file:line: [section] key: what was expected`, so an administrator fixes
the file in one pass instead of one error per restart. The line is found by following the file's tables
(bot/config/lines.py), not by searching for the key's name, which other sections share. The models' fields and
defaults are what config.example.toml documents; tests/unit/test_config.py holds the two together.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from bot.config import keys
from bot.config.lines import key_lines, line_of
from rosters.names import is_matrix_user_id


class ConfigError(Exception):
    """The configuration file is wrong; the message lists every problem."""


def _rule(test: Callable[[Any], object], message: str) -> AfterValidator:
    """A check of one value; `message` (with {value}) says what was expected, and is all the operator reads."""

    def check(value: Any) -> Any:
        if not test(value):
            raise PydanticCustomError("jourbot", "{message}", {"message": message.format(value=value)})
        return value

    return AfterValidator(check)


def _each(test: Callable[[str], object], message: str) -> AfterValidator:
    """A check of every string of a list; `message` ends in "got", and the wrong entries follow it."""

    def check(values: list[str]) -> list[str]:
        wrong = [value for value in values if not test(value)]
        if wrong:
            raise PydanticCustomError("jourbot", "{message}",
                                      {"message": f"{message} {', '.join(repr(value) for value in wrong)}"})
        return values

    return AfterValidator(check)


_ENV = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


def _expand(value: str) -> str:
    """$VAR and ${VAR} in a *_file path (systemd's ${CREDENTIALS_DIRECTORY}); a variable not set is an error, not an
    empty string that would turn the path into another file."""
    missing = sorted({a or b for a, b in _ENV.findall(value) if (a or b) not in os.environ})
    if missing:
        raise PydanticCustomError("jourbot", "{message}", {
            "message": f"the environment variable {', '.join(missing)} in {value!r} is not set" + (
                " (systemd sets it for a unit with LoadCredential=; run outside systemd, name the file itself)"
                if "CREDENTIALS_DIRECTORY" in missing else "")})
    return _ENV.sub(lambda m: os.environ[m.group(1) or m.group(2)], value)


_URL = re.compile(r"https?://[^\s/]+(/.*)?")
_HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")
_POSTGRES_URL = re.compile(r"postgres(ql)?://\S*")
# user:password@host, or ?password=… among the parameters (beside target_session_attrs, say)
_PASSWORD_IN_URL = re.compile(r"postgres(ql)?://([^/@]*:[^/@]*@|[^?]*\?([^#]*&)?password=)")

# Seconds, counts and days that only make sense above zero: a zero wait fires at once, a zero limit refuses all.
Positive = Annotated[int, _rule(lambda v: v > 0, "expected a positive number, got {value}")]
# 0 asks the system for any free port (the tests' way, and a second bot on one machine); the bot logs the one bound.
Port = Annotated[int, _rule(lambda v: 0 <= v <= 65535, "expected a port from 1 to 65535 (or 0: any free port), got"
                                                       " {value}")]
SecretFile = Annotated[str, AfterValidator(_expand)]
UserIds = Annotated[list[str], _each(is_matrix_user_id, "expected Matrix user ids, got")]
RoomIds = Annotated[list[str], _each(lambda room: room.startswith("!"),
                                     "expected room ids such as !abc:example.org, got")]


def _private_or_tls(url: str) -> bool:
    """https, or http to this very host (nothing crosses the network)."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return True
    host = parts.hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _inviter(entry: str) -> bool:
    # ":server" admits a whole server: a user id without its localpart.
    return is_matrix_user_id(entry) or (entry.startswith(":") and is_matrix_user_id("@x" + entry))


class Section(BaseModel):
    # strict: TOML has real types, so "30" for a number or true for 1 is a mistake to name, not a value to convert.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class MatrixConfig(Section):
    homeserver: Annotated[str, _rule(_URL.fullmatch, "expected a URL such as https://matrix.example.org")]
    user_id: Annotated[str, _rule(is_matrix_user_id, "expected a Matrix user id such as @jourbot:example.org")]
    # The password is needed only for the first login and for cross-signing uploads; it may come from the environment
    # or a file instead of the TOML, so the TOML can be shared without the secret.
    password: str = ""
    password_env: str = "JOURBOT_PASSWORD"
    password_file: SecretFile = ""
    device_name: str = "jourbot"
    trust: Literal["tofu", "cross-signed"] = "tofu"
    cross_signing: bool = True
    sync_timeout_s: Positive = 30
    request_timeout_s: Positive = 20


class StorageConfig(Section):
    # Access token, nio crypto store and database live here, private to the bot's user.
    dir: str = "var/jourbot"
    # The secret that encrypts the crypto store (nio's pickle key) and the cross-signing keys.
    pickle_key_env: str = "JOURBOT_PICKLE_KEY"
    pickle_key_file: SecretFile = ""
    # Key for sensitive fields (alarm free text) at rest, kept apart from the database.
    data_key_env: str = "JOURBOT_DATA_KEY"
    data_key_file: SecretFile = ""
    retention_days: Annotated[int, _rule(lambda v: v >= 1, "expected at least 1 day, got {value}")] = 365
    # "" keeps the database in `dir` (SQLite); a postgresql:// URL puts it on a PostgreSQL server, which instances on
    # several machines can share (docs/design.md, "Availability beyond one machine").
    database: Annotated[str, _rule(lambda v: not v or _POSTGRES_URL.fullmatch(v),
                                   "expected a postgresql:// URL (its password in PGPASSWORD or ~/.pgpass, not here),"
                                   " or nothing for SQLite in storage.dir"),
                        _rule(lambda v: not _PASSWORD_IN_URL.match(v),
                              "the URL holds a password: put it in PGPASSWORD or ~/.pgpass (mode 0600), not in the"
                              " configuration")] = ""
    # With PostgreSQL, where several instances share the database (bot/ha/): a standby takes over from an acting
    # instance whose beats stood still this long (a paused machine; a dead one's lock is free at once).
    acting_silent_after_s: Annotated[int, _rule(lambda v: v >= 3, "expected at least 3 seconds (the acting instance"
                                                " beats every second), got {value}")] = 5


class BotConfig(Section):
    language: Literal["sv", "en"] = "sv"
    catchup_window_s: Positive = 900
    undecryptable_wait_s: Positive = 30
    # Users (@user:server) or whole servers (:server) whose invitations the bot accepts.
    allowed_inviters: Annotated[list[str], _each(_inviter, "expected @user:server or :server, got")] = []
    # Per sender: at most this many commands (besides the alarm commands) per window; then one notice, then silence.
    command_rate_count: Positive = 20
    command_rate_window_s: Positive = 60
    # Someone with no role gets at most one answer per this many seconds.
    stranger_quiet_s: Positive = 300
    # Open a direct room with everyone on the rosters ahead of any page, and welcome them when they join it
    # (bot/trust/first_contact.py); one room every first_contact_every_s seconds, under the homeserver's limit on
    # room creation (Synapse's rc_room_creation: about one a minute, ten at once).
    first_contact: bool = True
    first_contact_every_s: Positive = 120
    log_level: Annotated[str, _rule(lambda v: v.upper() in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"),
                                    "expected DEBUG, INFO, WARNING, ERROR or CRITICAL, got {value!r}")] = "INFO"


class LoggingConfig(Section):
    # "json": one JSON object a line (time, level, logger, message), for journald or Loki to index; "text" for people.
    format: Literal["text", "json"] = "text"


class RolesConfig(Section):
    police: UserIds = []
    police_rooms: RoomIds = []
    # Supervisors beyond those the rosters name.
    supervisors: UserIds = []


class UnitRoomConfig(Section):
    # The unit's own room: alarms announced there; a district office's handovers listed there.
    room: Annotated[str, _rule(lambda v: not v or v.startswith("!"),
                               "expected a room id such as !abc:example.org, got {value!r}")] = ""
    # An unanswered page is repeated once (see [alarms] repeat_page_at); false: never for this unit's alarms.
    repeat_page: bool = True


class AlarmConfig(Section):
    # An officer's alarms past this many within the window are paged all the same; the supervisors are told, once
    # per window.
    rate_limit_count: Positive = 5
    rate_limit_window_s: Positive = 600
    # The same area and text from the same officer within this many seconds is the same alarm, not a new one.
    repeat_window_s: Positive = 300
    # Overrides every unit's step wait, for tests and demos; 0 keeps the rosters' policy.
    step_wait_override_s: Annotated[int, _rule(lambda v: v >= 0, "expected 0 (the rosters' waits) or more seconds,"
                                                                 " got {value}")] = 0
    # A page not delivered within this time counts as unreachable: the alarm moves on and the police are told.
    page_delivery_s: Positive = 60
    # An unanswered page is repeated once, ringing again, this share of the step's wait after it arrived (0.5: half
    # way); 0 turns repeats off for every unit. 1 would ring as the step ends, when the next step's pages go out.
    repeat_page_at: Annotated[float, _rule(lambda v: 0 <= v < 1, "expected a share of the step's wait from 0 (never)"
                                                                 " to below 1, got {value}")] = 0.5


class HandoverConfig(Section):
    # After a district office's morning list, a handover nobody has received reminds the office's supervisors after
    # this many seconds, and the supervisors of the unit that handled the alarm after `duty_after_s` more.
    remind_after_s: Positive = 7200
    duty_after_s: Positive = 7200


class WebConfig(Section):
    enabled: bool = False
    host: str = "127.0.0.1"
    port: Port = 8080
    # Where people's browsers reach the view (the reverse proxy's https URL); links and feeds are built on it.
    # Empty: http://host:port. An https URL also marks the session cookie Secure. http:// only on this host
    # (127.0.0.1, ::1, localhost): anywhere else, links and cookies would cross the network in the clear.
    public_url: str = ""
    link_ttl_s: Positive = 600  # a !webb link works once, within this time
    session_ttl_s: Positive = 43200  # a browser stays logged in this long at most …
    idle_timeout_s: Positive = 1800  # … and a session unused this long has ended
    feed_days: Positive = 365  # a calendar feed works this many days after it was made

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, url: str) -> str:
        if url and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", url):
            raise PydanticCustomError("jourbot", "expected a URL such as https://jour.example.org")
        if url and not _private_or_tls(url):
            raise PydanticCustomError("jourbot", "{message}", {"message": (
                f"expected https:// (http:// only on this host: 127.0.0.1, ::1 or localhost), got {url!r}: login"
                " links and cookies would cross the network in the clear")})
        return url

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")


class MonitoringConfig(Section):
    # /healthz and /metrics over HTTP, for the service manager and the monitoring.
    enabled: bool = False
    host: str = "127.0.0.1"
    port: Port = 9187
    # /healthz fails when the last successful sync, the oldest undelivered message or the last sweep of due deadlines
    # is older than these (seconds).
    sync_age_limit_s: Positive = 120
    # … and when the homeserver has answered nothing (a sync, a send, a probe) for this long: a hung homeserver, its
    # port open and no answer coming, counts like one that refuses.
    homeserver_s: Positive = 60
    undelivered_age_limit_s: Positive = 300
    sweep_age_limit_s: Positive = 30
    # Pinged (GET) every minute while healthy: a cron-monitoring service raises the alarm when the pings stop.
    deadman_url: Annotated[str, _rule(lambda v: not v or _URL.fullmatch(v),
                                      "expected a URL such as https://hc-ping.com/<uuid>, got {value!r}")] = ""
    # /metrics answers only with `Authorization: Bearer <token>` when a token is set, from the environment or a file
    # readable by the bot's user only; none set: open to whoever reaches the port (bound to 127.0.0.1 by default).
    metrics_token_env: str = "JOURBOT_METRICS_TOKEN"
    metrics_token_file: SecretFile = ""
    # The bot down (stopped or crashed) or its homeserver unreachable for at least this long: each police room is
    # told once, when the bot is back, that it was down and that what was sent meanwhile has been handled.
    outage_notice_after_s: Positive = 120


class SmsConfig(Section):
    # A second channel for pages: an SMS gateway over HTTP, in the request shape of 46elks (POST form from, to,
    # message; basic auth). Off unless enabled; numbers come from the people file.
    enabled: bool = False
    url: str = "https://api.46elks.com/a1/sms"
    sender: str = "Jourbot"
    # The gateway's API user and password: from the environment or a file readable only by the bot's user (0600).
    username_env: str = "JOURBOT_SMS_USERNAME"
    username_file: SecretFile = ""
    password_env: str = "JOURBOT_SMS_PASSWORD"
    password_file: SecretFile = ""
    timeout_s: Positive = 10
    # A page delivered in Matrix but not read within this many seconds also goes out by SMS (0: only pages that
    # could not be delivered, and the fallback to the supervisors).
    unseen_after_s: Annotated[int, _rule(lambda v: v >= 0, "expected 0 (off) or more seconds, got {value}")] = 120

    @field_validator("url")
    @classmethod
    def _url(cls, url: str, info: ValidationInfo) -> str:
        # Only a gateway in use must be reachable safely; `enabled` is declared first, so it is in info.data.
        if not info.data.get("enabled"):
            return url
        if not _URL.fullmatch(url):
            raise PydanticCustomError("jourbot", "expected a URL such as https://api.46elks.com/a1/sms")
        if not _private_or_tls(url):
            raise PydanticCustomError("jourbot", "{message}", {"message": (
                f"expected https:// (http:// only on this host), got {url!r}: the gateway's password and every text"
                " would cross the network in the clear")})
        return url


class CheckinConfig(Section):
    """At the start of each matching shift the person coming on call is asked to check in (README, "Readiness")."""

    unit: str  # a unit id from the roster folder (whether the rosters have it, preflight says: bot/config/checks.py)
    roles: Annotated[list[str], _each(lambda role: role in ("primary", "secondary", "supervisor"),
                                      "expected primary, secondary or supervisor, got")] = ["primary"]
    # Wall-clock start times ("22:00") of the shifts that are asked; empty: every shift of these roles.
    starts: Annotated[list[str], _each(_HHMM.fullmatch, 'expected times such as "22:00", got')] = []
    # Unanswered after this many minutes, the unit's supervisors are told.
    answer_within_min: Positive = 30


class ReadinessConfig(Section):
    # Local time ("09:00", in the rosters' zone) of the daily report to the supervisors of who cannot be reached;
    # "" turns the report off.
    report_at: Annotated[str, _rule(lambda v: not v or _HHMM.fullmatch(v),
                                    'expected a time such as "09:00" (or ""), got {value!r}')] = "09:00"
    # How far ahead the rosters are read.
    days: Annotated[int, _rule(lambda v: 1 <= v <= 31, "expected 1 to 31 days, got {value}")] = 7


class Config(Section):
    matrix: MatrixConfig
    storage: StorageConfig = StorageConfig()
    bot: BotConfig = BotConfig()
    logging: LoggingConfig = LoggingConfig()
    roles: RolesConfig = RolesConfig()
    rosters: str = "rosters/examples"
    units: dict[str, UnitRoomConfig] = {}
    alarms: AlarmConfig = AlarmConfig()
    handover: HandoverConfig = HandoverConfig()
    web: WebConfig = WebConfig()
    monitoring: MonitoringConfig = MonitoringConfig()
    checkin: list[CheckinConfig] = []
    readiness: ReadinessConfig = ReadinessConfig()
    sms: SmsConfig = SmsConfig()
    # Where the file was read from, for relative paths and messages; not a key of the file.
    _path: Path = PrivateAttr(default=Path("config.toml"))

    @property
    def path(self) -> Path:
        return self._path

    @property
    def state_dir(self) -> Path:
        return relative(self.path, self.storage.dir)

    @property
    def rosters_dir(self) -> Path:
        return relative(self.path, self.rosters)

    def password(self) -> str:
        return _secret(self.matrix.password, self.matrix.password_env, self.matrix.password_file, self.path)

    def pickle_key(self) -> str:
        """The crypto store's pickle key; refused when missing, weak, or in a file others can read."""
        return self._key("pickle key", self.storage.pickle_key_env, self.storage.pickle_key_file,
                         "pickle_key_env", "pickle_key_file")

    def data_key(self) -> str:
        """The key of the sensitive fields at rest and of the audit trail's MACs; refused as the pickle key is."""
        return self._key("data key", self.storage.data_key_env, self.storage.data_key_file, "data_key_env",
                         "data_key_file")

    def _key(self, what: str, env: str, file: str, env_key: str, file_key: str) -> str:
        source = ""
        if env and os.environ.get(env):
            source = f"the environment variable {env}"
        elif file:
            path = file_path(self.path, file)
            source = str(path)
            if problem := keys.file_problem(path):
                raise ConfigError(f"{self.path}: [storage] {file_key}: {problem}")
        key = _secret("", env, file, self.path)
        if not key:
            raise ConfigError(
                f"{self.path}: [storage] needs a {what}: set the environment variable {env or f'({env_key})'}"
                f" or {file_key}"
            )
        if weak := keys.weakness(key):
            raise ConfigError(f"{self.path}: [storage] the {what} in {source} is too weak to resist guessing: {weak}."
                              " Make one with `jourbot keys new`")
        return key

    def metrics_token(self) -> str:
        """The bearer token /metrics asks for, or "" for none; a token file others can read is refused."""
        monitoring = self.monitoring
        if monitoring.metrics_token_file and not os.environ.get(monitoring.metrics_token_env or "-"):
            path = file_path(self.path, monitoring.metrics_token_file)
            if problem := keys.file_problem(path):
                raise ConfigError(f"{self.path}: [monitoring] metrics_token_file: {problem}")
        return _secret("", monitoring.metrics_token_env, monitoring.metrics_token_file, self.path)

    def sms_credentials(self) -> tuple[str, str]:
        """The SMS gateway's (user, password); a credentials file others can read is refused."""
        sms = self.sms
        for file in (sms.username_file, sms.password_file):
            path = file_path(self.path, file) if file else None
            if path is not None and path.exists() and path.stat().st_mode & 0o077:
                raise ConfigError(f"{self.path}: [sms] {path} must be readable by the bot's user only (chmod 600)")
        user = _secret("", sms.username_env, sms.username_file, self.path)
        password = _secret("", sms.password_env, sms.password_file, self.path)
        if not user or not password:
            raise ConfigError(f"{self.path}: [sms] is enabled but has no credentials: set {sms.username_env} and"
                              f" {sms.password_env}, or username_file and password_file")
        return user, password


def relative(config_path: Path, value: str) -> Path:
    path = Path(value)
    return path if path.is_absolute() else (config_path.parent / path).resolve()


def file_path(config_path: Path, value: str) -> Path:
    """A `*_file` key's path, relative to the config's folder; its environment variables (systemd's
    ${CREDENTIALS_DIRECTORY}) were expanded when the config was read, so an unset one was reported with its line."""
    return relative(config_path, value)


def _secret(inline: str, env: str, file: str, config_path: Path) -> str:
    if inline:
        return inline
    if env and os.environ.get(env):
        return os.environ[env]
    if file:
        path = file_path(config_path, file)
        try:
            return path.read_text().strip()
        except OSError as err:
            raise ConfigError(f"{config_path}: cannot read secret file {path}: {err.strerror}") from err
    return ""


def load(path: Path | str) -> Config:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise ConfigError(f"{path}: cannot read: {err.strerror}") from err
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from err
    try:
        config = Config.model_validate(raw)
    except ValidationError as err:
        lines = key_lines(text)
        problems = sorted(((line_of(lines, tuple(e["loc"])), _where(e["loc"], raw), _message(e))
                           for e in err.errors()), key=lambda p: p[0] or 0)
        raise ConfigError("\n".join(f"{path}:{line}: {where}: {message}" if line else f"{path}: {where}: {message}"
                                    for line, where, message in problems)) from None
    config._path = path.resolve()
    return config


def _where(loc: tuple[str | int, ...], raw: dict[str, Any]) -> str:
    """`[sms] enabled`, `[units.farsta] room`, `[[checkin]] roles`, `rosters`: the table as its header reads, then the
    key; list positions are left out (the line points at the entry)."""
    table: list[str] = []
    array = False
    cursor: Any = raw
    index = 0
    while index < len(loc) - 1:
        value = cursor.get(loc[index]) if isinstance(cursor, dict) else None
        following = loc[index + 1]
        if isinstance(value, dict):
            table.append(str(loc[index]))
            cursor, array, index = value, False, index + 1
        elif (isinstance(value, list) and isinstance(following, int) and following < len(value)
              and isinstance(value[following], dict) and index + 2 < len(loc)):
            table.append(str(loc[index]))
            cursor, array, index = value[following], True, index + 2
        else:
            break
    key = ".".join(str(part) for part in loc[index:] if not isinstance(part, int))
    if not table:
        return key or "(top level)"
    header = f"[[{'.'.join(table)}]]" if array else f"[{'.'.join(table)}]"
    return f"{header} {key}" if key else header


_EXPECTED = {"string_type": "a string", "int_type": "a whole number", "bool_type": "true or false",
             "float_type": "a number", "list_type": "a list", "dict_type": "a table", "model_type": "a table",
             "model_attributes_type": "a table"}


def _message(error: Any) -> str:
    """pydantic's error in the words of this file: what was expected, and what was found."""
    kind = error["type"]
    if kind == "jourbot":
        return str(error["msg"])
    if kind == "missing":
        return f"missing; expected {_describe(_field_type(error['loc']))}"
    if kind == "extra_forbidden":
        known = ", ".join(sorted(_model_at(error["loc"][:-1]).model_fields))
        return f"unknown key (known keys here: {known})"
    if kind == "literal_error":
        return f"expected {error['ctx']['expected']}, got {error['input']!r}"
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {error['input']!r}"
    return str(error["msg"])


def _model_at(loc: tuple[str | int, ...]) -> type[BaseModel]:
    """The model whose keys sit at `loc` (dict keys and list positions skipped through)."""
    model: type[BaseModel] = Config
    tp: Any = Config
    for part in loc:
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = tp.model_fields.get(str(part))
            tp = _unwrap(field.annotation) if field is not None else None
        elif get_origin(tp) in (dict, list):
            tp = _unwrap(get_args(tp)[-1])
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            model = tp
    return model


def _field_type(loc: tuple[str | int, ...]) -> Any:
    field = _model_at(loc[:-1]).model_fields.get(str(loc[-1]))
    return _unwrap(field.annotation) if field is not None else None


def _unwrap(tp: Any) -> Any:
    """The type under Annotated[...]."""
    return get_args(tp)[0] if get_origin(tp) is Annotated else tp


def _describe(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return " or ".join(repr(a) for a in get_args(tp))
    if origin is list:
        return f"a list of {_describe(_unwrap(get_args(tp)[0]))}s"
    if origin is dict or (isinstance(tp, type) and issubclass(tp, BaseModel)):
        return "a table"
    return {str: "a string", int: "a whole number", bool: "true or false", float: "a number"}.get(tp, str(tp))
