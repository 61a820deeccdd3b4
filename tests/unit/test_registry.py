from __future__ import annotations

import re
from datetime import UTC, datetime

from handlers import build_registry
from handlers.i18n import all_keys
from handlers.registry import ANY_ROLE, Command, Context, Registry, Reply, Role, Spec, parse

NOW = datetime(2026, 11, 24, 14, 2, tzinfo=UTC)


def command(word: str, *args: str) -> Command:
    return Command(word, args, " ".join(args), "@p:localhost", "!room:localhost", "$ev", NOW)


def ctx(*roles: Role, lang: str = "sv", police_room: bool = False) -> Context:
    return Context(lang, NOW, frozenset(roles), police_room, True)


def test_parse_keeps_free_text_with_quotes():
    assert parse('!LARM Farsta pappa\'s bil "röd"') == (
        "larm",
        ("Farsta", "pappa's", "bil", '"röd"'),
        'Farsta pappa\'s bil "röd"',
    )
    assert parse("hej !larm") is None
    assert parse("! larm") is None


def test_help_lists_only_commands_the_sender_may_use():
    registry = build_registry()
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
    reply = build_registry().dispatch(command("larmm"), ctx(Role.POLICE, lang="en"))
    assert reply == [Reply("Unknown command !larmm. Type !help to see what you can do.")]


def test_every_string_exists_in_both_languages_with_the_same_placeholders():
    import bot.app  # noqa: F401 - registers the runtime's strings

    for key, (sv, en) in all_keys().items():
        assert sv.strip() and en.strip(), key
        assert set(re.findall(r"{(\w+)", sv)) == set(re.findall(r"{(\w+)", en)), key
