from __future__ import annotations

from datetime import UTC, datetime

from bot.core.effects import Reply
from bot.core.roles import Role
from handlers import build_registry
from handlers.alarm import AlarmLimits
from handlers.registry import ANY_ROLE, Command, Context, Passive, Registry, Spec, parse
from tests.harness.services import Unreachable

NOW = datetime(2026, 11, 24, 14, 2, tzinfo=UTC)
LIMITS = AlarmLimits(5, 600)


def command(word: str, *args: str) -> Command:
    return Command(word, args, " ".join(args), "@p:localhost", "!room:localhost", "$ev", NOW)


def ctx(*roles: Role, lang: str = "sv", police_room: bool = False) -> Context:
    return Context(lang, NOW, frozenset(roles), police_room, True, Unreachable())


def test_parse_keeps_free_text_with_quotes():
    assert parse('!LARM Farsta pappa\'s bil "röd"') == (
        "larm",
        ("Farsta", "pappa's", "bil", '"röd"'),
        'Farsta pappa\'s bil "röd"',
    )
    assert parse("hej !larm") is None
    assert parse("! larm") is None


def test_help_lists_only_commands_the_sender_may_use():
    registry = build_registry(LIMITS)
    as_police = registry.dispatch(command("hjälp"), ctx(Role.POLICE))[0].text
    as_supervisor = registry.dispatch(command("help"), ctx(Role.SUPERVISOR, lang="en"))[0].text
    as_nobody = registry.dispatch(command("help"), ctx(lang="en"))[0].text
    assert "!larm" in as_police and "!ok" not in as_police and "!klar" not in as_police
    assert as_supervisor.startswith("Commands you can use")
    assert "!ack" in as_supervisor and "!close" in as_supervisor and "!alarm" not in as_supervisor
    assert "!help" in as_nobody and "!alarm" not in as_nobody and "no role" in as_nobody


def test_role_is_checked_before_the_handler_runs():
    registry = Registry()
    calls: list[str] = []

    def handler(cmd: Command, c: Context) -> list:
        calls.append(cmd.word)
        return [Reply("done")]

    registry.add(Spec("klar", ("close",), frozenset({Role.SUPERVISOR, Role.RESPONDER}), "help.usage", handler))
    refused = registry.dispatch(command("KLAR", "L1"), ctx(Role.POLICE))
    assert calls == [] and "inte tillgängligt" in refused[0].text
    assert registry.dispatch(command("close", "L1"), ctx(Role.RESPONDER)) == [Reply("done")]
    assert calls == ["close"]


def test_police_room_only_commands():
    registry = Registry()
    registry.add(
        Spec("larm", ("alarm",), ANY_ROLE, "help.usage", lambda c, x: [Reply("raised")], police_room_only=True)
    )
    assert "polisrum" in registry.dispatch(command("larm"), ctx(Role.POLICE))[0].text
    assert registry.dispatch(command("alarm"), ctx(Role.POLICE, police_room=True)) == [Reply("raised")]


def test_unknown_command_gets_a_one_line_hint():
    reply = build_registry(LIMITS).dispatch(command("larmm"), ctx(Role.POLICE, lang="en"))
    assert reply == [Reply("Unknown command !larmm. Type !help to see what you can do.", refusal=True)]


def test_passive_handlers_see_only_what_they_match_and_strangers_get_no_answer():
    registry = Registry()
    seen: list[str] = []

    @registry.passive("reaction", lambda key: key.startswith("✅"), roles=frozenset({Role.RESPONDER}))
    def on_check(event: Passive, c: Context) -> list:
        seen.append(event.text)
        return [Reply("taken")]

    assert registry.wants_reaction("✅") and not registry.wants_reaction("👀") and not registry.wants_reply("ok")
    check = Passive("reaction", "✅", "$page", "@p:localhost", "!room:localhost", "$ev", NOW)
    assert registry.dispatch_passive(check, ctx(Role.RESPONDER)) == [Reply("taken")]
    assert registry.dispatch_passive(check, ctx(Role.POLICE)) == []  # no refusal: a stranger's ✅ is nobody's business
    assert seen == ["✅"]


def test_the_alarm_handlers_want_a_checkmark_and_an_ok_reply():
    registry = build_registry(LIMITS)
    assert registry.wants_reaction("✅") and registry.wants_reaction("👍")
    assert registry.wants_reply("ok") and registry.wants_reply("Ja!") and registry.wants_reply("OKEJ.")
    assert not registry.wants_reply("ok, men jag är upptagen") and not registry.wants_reaction("❌")
