"""Reading messages as clients send them: edits, reply fallbacks, white space, full-width command words."""

from __future__ import annotations

from bot.matrix.reading import read_message, strip_reply_fallback
from handlers.registry import is_command, parse


def test_an_edit_is_read_from_its_new_content_with_or_without_elements_star():
    for fallback in ("* !larm Farsta tre barn", "!larm Farsta tre barn"):
        reading = read_message({
            "body": fallback,
            "m.new_content": {"msgtype": "m.text", "body": "!larm Farsta tre barn"},
            "m.relates_to": {"rel_type": "m.replace", "event_id": "$original"},
        })
        assert (reading.body, reading.replaces, reading.reply_to) == ("!larm Farsta tre barn", "$original", None)


def test_a_reply_loses_its_quoted_fallback_but_keeps_what_it_replies_to():
    reading = read_message({
        "body": "> <@jourbot:localhost> 🚨 Larm L1 — Farsta\n> Ta larmet: !ok L1\n\nok",
        "formatted_body": "<mx-reply>…</mx-reply>ok",
        "m.relates_to": {"m.in_reply_to": {"event_id": "$page"}},
    })
    assert (reading.body, reading.reply_to) == ("ok", "$page")


def test_a_message_that_merely_starts_with_a_quote_is_not_a_reply_and_keeps_it():
    assert read_message({"body": "> citat\n\n!jour"}).body == "> citat\n\n!jour"


def test_formatted_body_alone_is_never_read():
    assert read_message({"formatted_body": "<p>!larm Farsta</p>"}).body == ""


def test_malformed_content_reads_as_nothing_rather_than_failing():
    assert read_message({"body": 42, "m.relates_to": "nonsense"}).body == ""
    assert read_message({"m.new_content": "x", "m.relates_to": {"rel_type": "m.replace"}}).body == ""


def test_strip_reply_fallback_without_blank_line_keeps_the_rest():
    assert strip_reply_fallback("> a\n> b\nja") == "ja"


def test_any_white_space_separates_the_command_word():
    for text in ("!larm\tFarsta två", "!larm\u00a0Farsta två", "!larm\u2003Farsta två", "!larm\nFarsta två"):
        parsed = parse(text)
        assert parsed is not None and parsed[:2] == ("larm", ("Farsta", "två"))


def test_a_full_width_command_is_a_command():
    assert is_command("！larm Farsta") and parse("！ＬＡＲＭ Farsta") == ("larm", ("Farsta",), "Farsta")
    assert not is_command("hej !larm") and not is_command("   ") and parse("! larm") is None
