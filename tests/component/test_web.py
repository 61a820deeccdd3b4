"""The browser view through the whole App: !webb's link, sessions, roles, CSRF, overrides and feeds, over real HTTP.

The clock is the component tier's (T0 = Wednesday 2026-11-25 14:02 in Stockholm); the homeserver is in memory.
"""

from __future__ import annotations

import re
import socket

from yarl import URL

from tests.harness.component import ANNA, BERTIL, CHEF, POLICE, ComponentBot
from tests.harness.webclient import WebClient, csrf_in, link_in

WEB = "[web]\nenabled = true\nport = 0\nlink_ttl_s = 600\n"
FREE_TEXT = "Pappan hotar med kniv, två barn i lägenheten"


async def start(tmp_path) -> tuple[ComponentBot, WebClient]:
    bot = await ComponentBot.start(tmp_path, extra=WEB)
    assert bot.app.web is not None and bot.app.web.bound_port
    return bot, WebClient(bot.app.web.bound_port)


async def ask_link(bot: ComponentBot, user: str) -> str:
    """`user` types !webb in their own room with the bot; the link arrives in their direct room."""
    room = bot.matrix.add_room(f"!own-{user[1:6]}:localhost", user)
    before = len([s for s in bot.matrix.to_user(user) if "/login/" in s.body])
    asked = await bot.say(user, "!webb", room=room)
    assert [s.body for s in bot.answers_to(asked)] == ["Jag har skickat en inloggningslänk i vårt direktrum."]
    (message,) = [s for s in bot.matrix.to_user(user) if "/login/" in s.body][before:]
    assert bot.matrix.rooms[message.room_id].encrypted
    return link_in(message.body)


async def test_a_supervisor_logs_in_with_the_link_and_sees_who_is_on_call_and_the_gap(tmp_path):
    bot, web = await start(tmp_path)
    try:
        status, path, _ = await web.get("/")
        assert (status, path) == (200, "/login"), "no session: the login page"
        status, path, page = await web.log_in(await ask_link(bot, CHEF))
        assert (status, path) == (200, "/")
        farsta = page[page.index('id="area-farsta"'):page.index('id="area-tomby"')]
        assert farsta.index("Anna A") < farsta.index("Bertil B") < farsta.index("Chef C")
        tomby = page[page.index('id="area-tomby"'):]
        assert 'class="card gap"' in page[page.index('id="area-tomby"') - 40:page.index('id="area-tomby"')]
        assert "Ingen primär i tjänst" in tomby and "Ingen primär" not in farsta
        status, _, week = await web.get("/units/testjour/week")
        assert status == 200 and "ons 25/11" in week and "Anna A" in week
        status, _, tomjour = await web.get("/units/tomjour/week?d=2026-11-25")
        assert status == 200 and 'class="bar gap"' in tomjour and "Tomby: mån 23/11 00:00 – mån 30/11 00:00" in tomjour
        status, _, check = await web.get("/check")
        assert status == 200 and "Tomby" in check and "Farsta" not in check.split("<table")[1]
    finally:
        await web.close()
        await bot.stop()


async def test_a_link_works_once_and_not_after_it_expires(tmp_path):
    bot, web = await start(tmp_path)
    try:
        link = await ask_link(bot, CHEF)
        first, _, page = await web.get(link)
        token = link.rsplit("/", 1)[1]
        form = {"token": token, "csrf": csrf_in(page)}
        assert (await web.post("/login", form))[1] == "/"
        other = WebClient(bot.app.web.bound_port)  # type: ignore[union-attr]  # another browser
        try:
            status, _, again = await other.post("/login", form)
            assert status == 403 and "redan använd" in again
            assert (await other.get(link))[0] == 403
            assert (await other.get("/"))[1] == "/login", "a spent link gives no session"

            late = await ask_link(bot, BERTIL)
            await bot.advance(601)
            status, _, expired = await other.get(late)
            assert status == 403 and "för gammal" in expired
        finally:
            await other.close()
    finally:
        await web.close()
        await bot.stop()


async def test_a_responder_sees_only_their_own_shifts(tmp_path):
    bot, web = await start(tmp_path)
    try:
        status, path, page = await web.log_in(await ask_link(bot, ANNA))
        assert (status, path) == (200, "/mine")
        assert "Primär" in page and "Testjouren" in page and "Bertil B" not in page
        for supervisors_page in ("/", "/units/testjour/week", "/alarms", "/stats", "/check", "/overrides", "/feeds"):
            status, _, refused = await web.get(supervisors_page)
            assert status == 403 and "bara för jourchefer" in refused, supervisors_page
        status, _, _ = await web.post("/overrides", {"csrf": csrf_in(page), "user": ANNA, "start": "2026-11-26T08:00",
                                                      "end": "2026-11-26T20:00", "unit": "testjour", "role": "primary"})
        assert status == 403 and bot.app.store.overrides.active() == []
    finally:
        await web.close()
        await bot.stop()


async def test_the_police_cannot_ask_for_a_link(tmp_path):
    bot, web = await start(tmp_path)
    try:
        asked = await bot.say(POLICE, "!webb")
        (answer,) = bot.answers_to(asked)
        assert "/login/" not in answer.body and not [s for s in bot.matrix.sent if "/login/" in s.body]
    finally:
        await web.close()
        await bot.stop()


async def test_an_override_from_the_browser_follows_the_rules_of_byt_and_reaches_chat_and_the_feed(tmp_path):
    bot, web = await start(tmp_path)
    try:
        _, _, page = await web.log_in(await ask_link(bot, CHEF))
        csrf = csrf_in(page)
        override = {"user": BERTIL, "unit": "testjour", "role": "primary", "start": "2026-11-26T08:00",
                    "end": "2026-11-26T20:00"}
        status, _, refused = await web.post("/overrides", override)
        assert status == 403 and "inte från webbvyn" in refused, "a POST without its CSRF token"
        status, _, refused = await web.post("/overrides", {**override, "csrf": "0" * 64})
        assert status == 403 and bot.app.store.overrides.active() == []

        status, _, wrong = await web.post("/overrides", {**override, "csrf": csrf, "end": "2026-11-26T07:00"})
        assert status == 400 and bot.app.store.overrides.active() == []
        assert "högst 31 dygn" in wrong, "the same answer as !byt gives"

        status, path, week = await web.post("/overrides", {**override, "csrf": csrf})
        assert (status, path) == (200, "/units/testjour/week")
        (stored,) = bot.app.store.overrides.active()
        assert (stored.user, stored.role, stored.start.isoformat()) == (BERTIL, "primary", "2026-11-26T08:00:00+01:00")
        assert 'class="bar override"' in week
        assert [e["action"] for e in bot.app.store.audit.entries(5)][0] == "override.added"
        told = [s.body for s in bot.matrix.to_user(CHEF) if "(webben)" in s.body]
        assert len(told) == 1 and "Bertil B" in told[0]

        chef_room = bot.matrix.add_room("!chef-schema:localhost", CHEF)
        asked = await bot.say(CHEF, "!schema testjouren 2026-11-26", room=chef_room)
        (table,) = bot.answers_to(asked)
        assert re.search(r"tors 26/11 08:00–20:00 +Primär +Bertil B \(byte\)", table.body), table.body

        _, _, feeds = await web.post("/feeds", {"csrf": csrf, "whose": "unit:testjour"})
        url = re.search(r'id="feed-url">([^<]+)<', feeds).group(1)  # type: ignore[union-attr]
        feed_path = url.split("://", 1)[1].split("/", 1)[1]
        async with web.session.get(f"{web.base}/{feed_path}") as resp:
            ics = await resp.text()
            assert resp.status == 200 and resp.content_type == "text/calendar"
        assert "DTSTART;TZID=Europe/Stockholm:20261126T080000" in ics and "@bertil.b:localhost" in ics
        feed_id = re.search(r"(K[0-9A-F]{8}) ·", feeds).group(1)  # type: ignore[union-attr]
        await web.post(f"/feeds/{feed_id}/revoke", {"csrf": csrf})
        async with web.session.get(f"{web.base}/{feed_path}") as resp:
            assert resp.status == 404, "a revoked feed is gone"
    finally:
        await web.close()
        await bot.stop()


async def test_no_page_shows_an_alarms_free_text(tmp_path):
    bot, web = await start(tmp_path)
    try:
        await bot.say(POLICE, f"!larm Farsta {FREE_TEXT}")
        await bot.advance(120)  # escalates to Bertil B
        page = bot.matrix.pages_to(BERTIL)[0]
        await bot.say(BERTIL, "!ok", room=page.room_id)
        await bot.say(BERTIL, "!påväg L1 20", room=page.room_id)
        await bot.advance(600)
        await bot.say(BERTIL, "!framme L1", room=page.room_id)
        await bot.say(BERTIL, "!skydd L1 gjord anhörig", room=page.room_id)
        _, _, now = await web.log_in(await ask_link(bot, CHEF))
        pages = {"/": now}
        for path in ("/alarms", "/alarms/L1", "/stats", "/check", "/units/testjour/week", "/units/testjour/month",
                     "/mine", "/overrides", "/feeds"):
            status, _, body = await web.get(path)
            assert status == 200, path
            pages[path] = body
        for path, body in pages.items():
            assert "kniv" not in body and "lägenheten" not in body, path
        timeline = pages["/alarms/L1"]
        assert timeline.index("Larmat") < timeline.index("Eskalerat") < timeline.index("Accepterat")
        assert "Sökte: Anna A" in timeline and "Sökte: Bertil B" in timeline and "— Bertil B" in timeline
        phase = re.search(r"På väg</strong>\s+— Bertil B \(≈ 20 min\)", timeline)
        assert phase and timeline.index("Accepterat") < phase.start(), "a phase follows the acceptance"
        assert "<svg" in pages["/stats"] and "Farsta: Larm 1" in pages["/stats"]
        stats = pages["/stats"]
        assert "Tid till framme: median 12 minuter" in stats and "Beslut efter skyddsbedömning" in stats
        assert "Framme" in timeline and "Skyddsbedömning gjord" in timeline and "nhörig" not in timeline
    finally:
        await web.close()
        await bot.stop()


async def test_a_session_ends_at_log_out_and_when_it_runs_out(tmp_path):
    bot, web = await start(tmp_path)
    try:
        _, _, page = await web.log_in(await ask_link(bot, CHEF))
        cookie = web.session.cookie_jar.filter_cookies(URL(web.base))["jourbot"]
        status, path, _ = await web.post("/logout", {"csrf": csrf_in(page)})
        assert (status, path) == (200, "/login")
        web.session.cookie_jar.update_cookies({"jourbot": cookie.value})  # the old cookie, kept by someone
        assert (await web.get("/"))[1] == "/login"

        _, path, _ = await web.log_in(await ask_link(bot, CHEF))
        assert path == "/"
        await bot.advance(43200)
        assert (await web.get("/"))[1] == "/login", "after session_ttl_s the browser must log in again"
    finally:
        await web.close()
        await bot.stop()


async def test_behind_tls_the_cookie_is_secure_and_links_use_the_public_url(tmp_path):
    bot = await ComponentBot.start(tmp_path, extra=WEB + 'public_url = "https://jour.example.org/"\n')
    try:
        room = bot.matrix.add_room("!own-chef:localhost", CHEF)
        await bot.say(CHEF, "!web", room=room)
        (message,) = [s for s in bot.matrix.to_user(CHEF) if "/login/" in s.body]
        assert re.search(r"https://jour\.example\.org/login/[A-Za-z0-9_-]{43}\b", message.body)
        web = WebClient(bot.app.web.bound_port)  # type: ignore[union-attr]
        try:
            async with web.session.get(web.base + link_in(message.body)) as resp:
                page = await resp.text()
                login_cookie = resp.headers["Set-Cookie"]
            assert login_cookie.startswith("__Host-jourbot-login=") and "Secure" in login_cookie
            token = link_in(message.body).rsplit("/", 1)[1]
            # A browser sends the Secure cookie back over TLS only; this test talks plain HTTP to the bot, as the
            # proxy does, so it hands the cookie on itself.
            nonce = login_cookie.split(";")[0].split("=", 1)[1]
            async with web.session.post(f"{web.base}/login", data={"token": token, "csrf": csrf_in(page)},
                                        headers={"Cookie": f"__Host-jourbot-login={nonce}"},
                                        allow_redirects=False) as resp:
                assert resp.status == 303
                cookie = resp.headers["Set-Cookie"]
            assert cookie.startswith("__Host-jourbot=") and "Secure" in cookie and "HttpOnly" in cookie
            assert "SameSite=Strict" in cookie and "Path=/" in cookie
            asked = await bot.say(CHEF, "!webb", room=bot.dm_room(CHEF))
            assert bot.answers_to(asked) == [], "in the direct room the link is the answer"
            assert len([s for s in bot.matrix.to_user(CHEF) if "/login/" in s.body]) == 2
        finally:
            await web.close()
    finally:
        await bot.stop()


async def test_an_override_removed_in_the_browser_is_gone_and_supervisors_are_told(tmp_path):
    bot, web = await start(tmp_path)
    try:
        chef_room = bot.matrix.add_room("!chef-byt:localhost", CHEF)
        await bot.say(CHEF, f"!byt {BERTIL} 2026-11-26 08:00 2026-11-26 20:00 testjouren", room=chef_room)
        (stored,) = bot.app.store.overrides.active()
        _, _, page = await web.log_in(await ask_link(bot, CHEF))
        _, _, listed = await web.get("/overrides")
        assert f"{stored.id}" in listed and "Bertil B" in listed
        status, _, missing = await web.post("/overrides/B99/remove", {"csrf": csrf_in(page)})
        assert status == 404 and "B99" in missing and len(bot.app.store.overrides.active()) == 1
        status, path, _ = await web.post(f"/overrides/{stored.id}/remove", {"csrf": csrf_in(page)})
        assert (status, path) == (200, "/overrides") and bot.app.store.overrides.active() == []
        assert any(f"tog bort byte {stored.id}" in s.body for s in bot.matrix.to_user(CHEF))
        assert [e["action"] for e in bot.app.store.audit.entries(5)][0] == "override.removed"
    finally:
        await web.close()
        await bot.stop()


async def test_a_browser_view_that_cannot_listen_does_not_stop_the_paging(tmp_path, caplog):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        bot = await ComponentBot.start(tmp_path, extra=f"[web]\nenabled = true\nport = {port}\n")
        try:
            await bot.say(POLICE, "!larm Farsta")
            assert bot.paged() == {"anna.a": 1, "bertil.b": 0, "chef.c": 0}
            assert f"browser view not started: cannot listen on 127.0.0.1:{port}" in caplog.text
        finally:
            await bot.stop()
