"""config.toml → typed, validated configuration.

Every problem is reported at once, each naming the file, the key, its line where we can find it, and what was
expected, so an administrator fixes the file in one pass instead of one error per restart.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_origin
from urllib.parse import urlsplit

from bot.config import keys
from rosters.names import is_matrix_user_id


class ConfigError(Exception):
    """The configuration file is wrong; the message lists every problem."""


@dataclass(frozen=True)
class MatrixConfig:
    homeserver: str
    user_id: str
    # The password is needed only for the first login and for cross-signing uploads; it may come from the environment
    # or a file instead of the TOML, so the TOML can be shared without the secret.
    password: str = ""
    password_env: str = "JOURBOT_PASSWORD"
    password_file: str = ""
    device_name: str = "jourbot"
    trust: Literal["tofu", "cross-signed"] = "tofu"
    cross_signing: bool = True
    sync_timeout_s: int = 30
    request_timeout_s: int = 20


@dataclass(frozen=True)
class StorageConfig:
    # Access token, nio crypto store and database live here, private to the bot's user.
    dir: str = "var/jourbot"
    # The secret that encrypts the crypto store (nio's pickle key) and the cross-signing keys.
    pickle_key_env: str = "JOURBOT_PICKLE_KEY"
    pickle_key_file: str = ""
    # Key for sensitive fields (alarm free text) at rest, kept apart from the database.
    data_key_env: str = "JOURBOT_DATA_KEY"
    data_key_file: str = ""
    retention_days: int = 365


@dataclass(frozen=True)
class BotConfig:
    language: Literal["sv", "en"] = "sv"
    catchup_window_s: int = 900
    undecryptable_wait_s: int = 30
    # Users (@user:server) or whole servers (:server) whose invitations the bot accepts.
    allowed_inviters: list[str] = field(default_factory=list)
    # Per sender: at most this many commands (besides the alarm commands) per window; then one notice, then silence.
    command_rate_count: int = 20
    command_rate_window_s: int = 60
    # Someone with no role gets at most one answer per this many seconds.
    stranger_quiet_s: int = 300
    log_level: str = "INFO"


@dataclass(frozen=True)
class RolesConfig:
    police: list[str] = field(default_factory=list)
    police_rooms: list[str] = field(default_factory=list)
    # Supervisors beyond those the rosters name.
    supervisors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class UnitRoomConfig:
    room: str = ""  # the unit's own room: alarms announced there; a district office's handovers listed there
    # An unanswered page is repeated once (see [alarms] repeat_page_at); false: never for this unit's alarms.
    repeat_page: bool = True


@dataclass(frozen=True)
class AlarmConfig:
    rate_limit_count: int = 5
    rate_limit_window_s: int = 600
    # Overrides every unit's step wait, for tests and demos; 0 keeps the rosters' policy.
    step_wait_override_s: int = 0
    # A page not delivered within this time counts as unreachable: the alarm moves on and the police are told.
    page_delivery_s: int = 60
    # An unanswered page is repeated once, ringing again, this share of the step's wait after it arrived (0.5: half
    # way); 0 turns repeats off for every unit.
    repeat_page_at: float = 0.5


@dataclass(frozen=True)
class HandoverConfig:
    # After a district office's morning list, a handover nobody has received reminds the office's supervisors after
    # this many seconds, and the supervisors of the unit that handled the alarm after `duty_after_s` more.
    remind_after_s: int = 7200
    duty_after_s: int = 7200


@dataclass(frozen=True)
class WebConfig:
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 8080
    # Where people's browsers reach the view (the reverse proxy's https URL); links and feeds are built on it.
    # Empty: http://host:port. An https URL also marks the session cookie Secure. http:// only on this host
    # (127.0.0.1, ::1, localhost): anywhere else, links and cookies would cross the network in the clear.
    public_url: str = ""
    link_ttl_s: int = 600  # a !webb link works once, within this time
    session_ttl_s: int = 43200  # a browser stays logged in this long at most …
    idle_timeout_s: int = 1800  # … and a session unused this long has ended
    feed_days: int = 365  # a calendar feed works this many days after it was made

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")


@dataclass(frozen=True)
class MonitoringConfig:
    # /healthz and /metrics over HTTP, for the service manager and the monitoring.
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 9187
    # /healthz fails when the last successful sync, the oldest undelivered message or the last sweep of due deadlines
    # is older than these (seconds).
    sync_age_limit_s: int = 120
    # … and when the homeserver has answered nothing (a sync, a send, a probe) for this long: a hung homeserver, its
    # port open and no answer coming, counts like one that refuses.
    homeserver_s: int = 60
    undelivered_age_limit_s: int = 300
    sweep_age_limit_s: int = 30
    # Pinged (GET) every minute while healthy: a cron-monitoring service raises the alarm when the pings stop.
    deadman_url: str = ""
    # /metrics answers only with `Authorization: Bearer <token>` when a token is set, from the environment or a file
    # readable by the bot's user only; none set: open to whoever reaches the port (bound to 127.0.0.1 by default).
    metrics_token_env: str = "JOURBOT_METRICS_TOKEN"
    metrics_token_file: str = ""
    # The bot down (stopped or crashed) or its homeserver unreachable for at least this long: each police room is
    # told once, when the bot is back, that it was down and that what was sent meanwhile has been handled.
    outage_notice_after_s: int = 120


@dataclass(frozen=True)
class SmsConfig:
    # A second channel for pages: an SMS gateway over HTTP, in the request shape of 46elks (POST form from, to,
    # message; basic auth). Off unless enabled; numbers come from the people file.
    enabled: bool = False
    url: str = "https://api.46elks.com/a1/sms"
    sender: str = "Jourbot"
    # The gateway's API user and password: from the environment or a file readable only by the bot's user (0600).
    username_env: str = "JOURBOT_SMS_USERNAME"
    username_file: str = ""
    password_env: str = "JOURBOT_SMS_PASSWORD"
    password_file: str = ""
    timeout_s: int = 10
    # A page delivered in Matrix but not read within this many seconds also goes out by SMS (0: only pages that
    # could not be delivered, and the fallback to the supervisors).
    unseen_after_s: int = 120


@dataclass(frozen=True)
class CheckinConfig:
    """At the start of each matching shift the person coming on call is asked to check in (README, "Readiness")."""

    unit: str  # a unit id from the roster folder
    roles: list[str] = field(default_factory=lambda: ["primary"])
    # Wall-clock start times ("22:00") of the shifts that are asked; empty: every shift of these roles.
    starts: list[str] = field(default_factory=list)
    # Unanswered after this many minutes, the unit's supervisors are told.
    answer_within_min: int = 30


@dataclass(frozen=True)
class ReadinessConfig:
    # Local time ("09:00", in the rosters' zone) of the daily report to the supervisors of who cannot be reached;
    # "" turns the report off.
    report_at: str = "09:00"
    # How far ahead the rosters are read.
    days: int = 7


@dataclass(frozen=True)
class Config:
    matrix: MatrixConfig
    storage: StorageConfig = field(default_factory=StorageConfig)
    bot: BotConfig = field(default_factory=BotConfig)
    roles: RolesConfig = field(default_factory=RolesConfig)
    rosters: str = "rosters/examples"
    units: dict[str, UnitRoomConfig] = field(default_factory=dict)
    alarms: AlarmConfig = field(default_factory=AlarmConfig)
    handover: HandoverConfig = field(default_factory=HandoverConfig)
    web: WebConfig = field(default_factory=WebConfig)
    monitoring: MonitoringConfig = field(default_factory=MonitoringConfig)
    checkin: list[CheckinConfig] = field(default_factory=list)
    readiness: ReadinessConfig = field(default_factory=ReadinessConfig)
    sms: SmsConfig = field(default_factory=SmsConfig)
    path: Path = Path("config.toml")

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
            path = relative(self.path, file)
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
            path = relative(self.path, monitoring.metrics_token_file)
            if problem := keys.file_problem(path):
                raise ConfigError(f"{self.path}: [monitoring] metrics_token_file: {problem}")
        return _secret("", monitoring.metrics_token_env, monitoring.metrics_token_file, self.path)

    def sms_credentials(self) -> tuple[str, str]:
        """The SMS gateway's (user, password); a credentials file others can read is refused."""
        sms = self.sms
        for file in (sms.username_file, sms.password_file):
            path = relative(self.path, file) if file else None
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


def _secret(inline: str, env: str, file: str, config_path: Path) -> str:
    if inline:
        return inline
    if env and os.environ.get(env):
        return os.environ[env]
    if file:
        path = relative(config_path, file)
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
    problems: list[tuple[str, str]] = []
    values: Config = _build(Config, raw, "", problems, exclude=frozenset({"path"}))
    if not problems:
        _check_semantics(values, problems)
    if problems:
        raise ConfigError("\n".join(f"{path}:{_line_of(text, p[0])}{p[0] or '(top level)'}: {p[1]}" for p in problems))
    return dataclasses.replace(values, path=path.resolve())


def _check_semantics(config: Config, problems: list[tuple[str, str]]) -> None:
    if not re.fullmatch(r"https?://[^\s/]+(/.*)?", config.matrix.homeserver):
        problems.append(("matrix.homeserver", "expected a URL such as https://matrix.example.org"))
    if not is_matrix_user_id(config.matrix.user_id):
        problems.append(("matrix.user_id", "expected a Matrix user id such as @jourbot:example.org"))
    for key, users in (("roles.police", config.roles.police), ("roles.supervisors", config.roles.supervisors)):
        for user in users:
            if not is_matrix_user_id(user):
                problems.append((key, f"expected Matrix user ids, got {user!r}"))
    if config.web.public_url and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", config.web.public_url):
        problems.append(("web.public_url", "expected a URL such as https://jour.example.org"))
    elif config.web.public_url and not _private_or_tls(config.web.public_url):
        problems.append(("web.public_url", "expected https:// (http:// only on this host: 127.0.0.1, ::1 or"
                                           f" localhost), got {config.web.public_url!r}: login links and cookies would"
                                           " cross the network in the clear"))
    for room in config.roles.police_rooms:
        if not room.startswith("!"):
            problems.append(("roles.police_rooms", f"expected room ids such as !abc:example.org, got {room!r}"))
    for entry in config.bot.allowed_inviters:
        # ":server" admits a whole server: a user id without its localpart.
        if not (is_matrix_user_id(entry) or (entry.startswith(":") and is_matrix_user_id("@x" + entry))):
            problems.append(("bot.allowed_inviters", f"expected @user:server or :server, got {entry!r}"))
    for key, value in (
        ("bot.catchup_window_s", config.bot.catchup_window_s),
        ("bot.undecryptable_wait_s", config.bot.undecryptable_wait_s),
        ("bot.command_rate_count", config.bot.command_rate_count),
        ("bot.command_rate_window_s", config.bot.command_rate_window_s),
        ("bot.stranger_quiet_s", config.bot.stranger_quiet_s),
        ("alarms.rate_limit_count", config.alarms.rate_limit_count),
        ("alarms.rate_limit_window_s", config.alarms.rate_limit_window_s),
        ("matrix.sync_timeout_s", config.matrix.sync_timeout_s),
        ("alarms.page_delivery_s", config.alarms.page_delivery_s),
        ("web.link_ttl_s", config.web.link_ttl_s),
        ("web.session_ttl_s", config.web.session_ttl_s),
        ("web.idle_timeout_s", config.web.idle_timeout_s),
        ("web.feed_days", config.web.feed_days),
        ("sms.timeout_s", config.sms.timeout_s),
        ("monitoring.outage_notice_after_s", config.monitoring.outage_notice_after_s),
        ("monitoring.homeserver_s", config.monitoring.homeserver_s),
    ):
        if value <= 0:
            problems.append((key, f"expected a positive number, got {value}"))
    if config.storage.retention_days < 1:
        problems.append(("storage.retention_days", f"expected at least 1 day, got {config.storage.retention_days}"))
    if config.sms.enabled and not re.fullmatch(r"https?://[^\s/]+(/.*)?", config.sms.url):
        problems.append(("sms.url", "expected a URL such as https://api.46elks.com/a1/sms"))
    elif config.sms.enabled and not _private_or_tls(config.sms.url):
        problems.append(("sms.url", f"expected https:// (http:// only on this host), got {config.sms.url!r}: the"
                                    " gateway's password and every text would cross the network in the clear"))
    if not 0 <= config.alarms.repeat_page_at < 1:
        problems.append(("alarms.repeat_page_at", "expected a share of the step's wait from 0 (never) to below 1, got"
                                                  f" {config.alarms.repeat_page_at}"))
    for unit, settings in config.units.items():
        if settings.room and not settings.room.startswith("!"):
            problems.append((f"units.{unit}.room",
                             f"expected a room id such as !abc:example.org, got {settings.room!r}"))
    if config.sms.unseen_after_s < 0:
        problems.append(("sms.unseen_after_s", f"expected 0 (off) or more seconds, got {config.sms.unseen_after_s}"))
    _check_readiness(config, problems)


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


_HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


def _check_readiness(config: Config, problems: list[tuple[str, str]]) -> None:
    """[readiness] and [[checkin]]; whether a check-in's unit exists is for the rosters to say (preflight)."""
    report_at = config.readiness.report_at
    if report_at and not _HHMM.fullmatch(report_at):
        problems.append(("readiness.report_at", f'expected a time such as "09:00" (or ""), got {report_at!r}'))
    if not 1 <= config.readiness.days <= 31:
        problems.append(("readiness.days", f"expected 1 to 31 days, got {config.readiness.days}"))
    for entry in config.checkin:
        for role in entry.roles:
            if role not in ("primary", "secondary", "supervisor"):
                problems.append(("checkin.roles", f"expected primary, secondary or supervisor, got {role!r}"))
        for start in entry.starts:
            if not _HHMM.fullmatch(start):
                problems.append(("checkin.starts", f'expected times such as "22:00", got {start!r}'))
        if entry.answer_within_min <= 0:
            problems.append(("checkin.answer_within_min", f"expected a positive number, got {entry.answer_within_min}"))


def _describe(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return " or ".join(repr(a) for a in get_args(tp))
    if origin is list:
        return f"a list of {_describe(get_args(tp)[0])}s"
    if origin is dict:
        return "a table"
    if dataclasses.is_dataclass(tp):
        return "a table"
    return {str: "a string", int: "a whole number", bool: "true or false", float: "a number"}.get(tp, str(tp))


def _build(
    cls: Any, raw: Any, prefix: str, problems: list[tuple[str, str]], exclude: frozenset[str] = frozenset()
) -> Any:
    if not isinstance(raw, dict):
        problems.append((prefix, "expected a table"))
        return None
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name not in exclude}
    for key in raw:
        if key not in fields:
            known = ", ".join(sorted(fields))
            problems.append((_join(prefix, key), f"unknown key (known keys here: {known})"))
    kwargs: dict[str, Any] = {}
    for name, f in fields.items():
        key = _join(prefix, name)
        if name not in raw:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                problems.append((key, f"missing; expected {_describe(hints[name])}"))
            continue
        kwargs[name] = _value(hints[name], raw[name], key, problems)
    if any(p[0] == prefix or p[0].startswith(prefix) for p in problems) and prefix == "":
        return None
    try:
        return cls(**kwargs)
    except TypeError:
        return None


def _value(tp: Any, value: Any, key: str, problems: list[tuple[str, str]]) -> Any:
    origin = get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, key, problems)
    if origin is Literal:
        if value not in get_args(tp):
            problems.append((key, f"expected {_describe(tp)}, got {value!r}"))
        return value
    if origin is list:
        if not isinstance(value, list):
            problems.append((key, f"expected {_describe(tp)}, got {type(value).__name__}"))
            return []
        (item,) = get_args(tp)
        return [_value(item, v, key, problems) for v in value]
    if origin is dict:
        _, item = get_args(tp)
        if not isinstance(value, dict):
            problems.append((key, "expected a table"))
            return {}
        return {k: _value(item, v, _join(key, k), problems) for k, v in value.items()}
    if origin in (types.UnionType, typing.Union):
        return value
    ok = isinstance(value, tp) and not (tp is int and isinstance(value, bool))
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        ok = True
    if not ok:
        problems.append((key, f"expected {_describe(tp)}, got {value!r}"))
    return value


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _line_of(text: str, dotted: str) -> str:
    """Best-effort 'N:' for the line where the last part of a dotted key is set, so editors can jump there."""
    if not dotted:
        return ""
    leaf = dotted.rsplit(".", 1)[-1]
    for number, line in enumerate(text.splitlines(), start=1):
        if re.match(rf"\s*\"?{re.escape(leaf)}\"?\s*=", line) or re.match(rf"\s*\[+[^\]]*\b{re.escape(leaf)}\]", line):
            return f"{number}: "
    return " "
