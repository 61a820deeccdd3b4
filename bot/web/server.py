"""The browser view's HTTP server: its own aiohttp app on its own port, apart from /healthz.

Every page but the login pages and the calendar feeds needs a session; supervisor pages need a supervisor, and a
responder sees only their own shifts. A supervisor sees and changes only the units they supervise, unless configured
city-wide (bot/web/scope.py). Roles are looked up at every request, from the configuration and the rosters (never
from the session), so someone taken off a roster loses the view at once, and a calendar feed stops working when its
maker or its subject loses the role. Every POST carries the session's CSRF token; the login form carries one bound to
a pre-login cookie. Pages are rendered on the server from the engine's own answers; there is no script.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from aiohttp import web
from markupsafe import Markup

from bot.alarm import stats
from bot.alarm.machine import FINISHED, Alarm
from bot.alarm.service import AlarmService
from bot.channels.sms.channel import outcomes as sms_outcomes
from bot.core.effects import Effect, SendUser
from bot.core.i18n import day, listing, moment, role_label, t, tn
from bot.core.phases import DECISIONS
from bot.core.roles import Role
from bot.duty.leave import StoredLeave
from bot.duty.live import Candidate
from bot.readiness.assess import Finding
from bot.services import RuntimeServices
from bot.store import Store
from bot.store.web import Feed
from bot.web import alarmview, charts, checkinview, leaveform, pagesview, rosterdata, timeline
from bot.web.auth import LoginLimiter, WebAuth, csrf_for, csrf_ok, login_csrf, login_csrf_ok
from bot.web.readinessview import ReadinessPage
from bot.web.scope import Scope, scope_of
from handlers.override import describe, parse_override
from handlers.registry import Command, Context
from handlers.stats_evaluation import evaluation_lines
from rosters import ROLES, Roster, UnknownUnit
from rosters.findings import CHECK_DAYS
from rosters.wallclock import day_start

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
RECENT_DAYS = 30
MINE_DAYS = 28
SECURITY_HEADERS = {
    # No script at all, styles and images only from here, never framed, never a referrer (links carry tokens).
    # Style attributes place the timeline's bars; they cannot run anything.
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; style-src-attr 'unsafe-inline';"
                               " img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

Queue = Callable[[Sequence[Effect], str], None]  # messages to queue in the outbox, inside the caller's transaction
Page = Callable[[web.Request, "Visitor"], Awaitable[web.StreamResponse]]
Reload = Callable[[], Awaitable[Candidate | None]]  # App.reload_rosters: None when the files are those in force


@dataclass(frozen=True)
class Visitor:
    user: str
    name: str
    roles: frozenset[Role]
    csrf: str
    scope: Scope = Scope(frozenset())  # what a supervisor sees and changes (nothing for a responder)

    @property
    def supervisor(self) -> bool:
        return Role.SUPERVISOR in self.roles


@dataclass(frozen=True)
class WebSettings:
    host: str
    port: int
    lang: str
    secure_cookie: bool  # the public URL is https: the cookie is sent only over TLS


class WebView:
    def __init__(self, settings: WebSettings, auth: WebAuth, store: Store, services: RuntimeServices,
                 alarms: AlarmService, queue: Queue, clock: Callable[[], float], *, leave: StoredLeave,
                 reload: Reload) -> None:
        self.settings = settings
        self.leave = leave
        self.reload = reload
        self.auth = auth
        self.store = store
        self.services = services
        self.alarms = alarms
        self.queue = queue
        self.clock = clock
        self.lang = settings.lang
        self.cookie = "__Host-jourbot" if settings.secure_cookie else "jourbot"
        self.login_cookie = "__Host-jourbot-login" if settings.secure_cookie else "jourbot-login"
        self.limiter = LoginLimiter()
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True, undefined=jinja2.StrictUndefined,
        )
        self.env.globals.update(t=lambda key, **params: t(key, self.lang, **params),
                                tn=lambda key, n, **params: tn(key, n, self.lang, **params),
                                listing=lambda items: listing(items, self.lang), role=self._role)
        self.env.filters.update(hm=lambda at: f"{at:%H:%M}", hms=lambda at: f"{at:%H:%M:%S}", day=self._day,
                                stamp=self._stamp, seconds=self._seconds)
        self._runner: web.AppRunner | None = None
        self.bound_port: int | None = None
        self.readiness: ReadinessPage | None = None  # set by the App: it asks the homeserver as the daily report does

    # --- lifecycle -------------------------------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._headers])
        r = app.router
        r.add_get("/login", self.login_help)
        r.add_get("/login/{token}", self.login_confirm)
        r.add_post("/login", self.login)
        r.add_get("/feed/{token}.ics", self.feed)
        r.add_static("/static", HERE / "static")
        for path, page, supervisors_only in (
            ("/", self.now_page, True),
            ("/units/{unit}/week", self.week_page, True),
            ("/units/{unit}/month", self.month_page, True),
            ("/alarms", self.alarms_page, True),
            ("/alarms/{id}", self.alarm_page, True),
            ("/check", self.check_page, True),
            ("/readiness", self.readiness_page, True),
            ("/stats", self.stats_page, True),
            ("/overrides", self.overrides_page, True),
            ("/feeds", self.feeds_page, True),
            ("/leave", self.leave_page, True),
            ("/mine", self.mine_page, False),
        ):
            r.add_get(path, self._guard(page, supervisors_only))
        for path, page, supervisors_only in (
            ("/logout", self.logout, False),
            ("/overrides", self.add_override, True),
            ("/overrides/{id}/remove", self.remove_override, True),
            ("/feeds", self.add_feed, True),
            ("/feeds/{id}/revoke", self.revoke_feed, True),
            ("/leave", self.add_leave, True),
            ("/leave/{id}/remove", self.remove_leave, True),
            ("/rosters/reload", self.reload_rosters, True),
            ("/identities/confirm", self.confirm_identity, True),
        ):
            r.add_post(path, self._guard(page, supervisors_only, post=True))
        return app

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None)  # an access log would hold login tokens
        await self._runner.setup()
        await web.TCPSite(self._runner, self.settings.host, self.settings.port).start()
        addresses = self._runner.addresses
        self.bound_port = int(addresses[0][1]) if addresses else self.settings.port
        log.info("browser view on http://%s:%d/", self.settings.host, self.bound_port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.readiness is not None:
            await self.readiness.stop()

    # --- the checks every page passes -------------------------------------------------------------------------------
    @web.middleware
    async def _headers(self, request: web.Request,
                       handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as err:  # redirects and 404s get the same headers
            for key, value in SECURITY_HEADERS.items():
                err.headers.setdefault(key, value)
            raise
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        return response

    def _guard(self, page: Page, supervisors_only: bool, post: bool = False) -> Callable[
            [web.Request], Awaitable[web.StreamResponse]]:
        async def guarded(request: web.Request) -> web.StreamResponse:
            session = request.cookies.get(self.cookie, "")
            user = self.auth.session_user(session)
            if user is None:
                if post:
                    return self._error(403, "webview.error.no_session")
                raise web.HTTPSeeOther("/login")
            roles = self.services.roles_of(user)
            if not roles & {Role.SUPERVISOR, Role.RESPONDER}:
                return self._error(403, "webview.error.no_role")
            if supervisors_only and Role.SUPERVISOR not in roles:
                return self._error(403, "webview.error.supervisors_only")
            roster = self._roster()
            scope = scope_of(user, roster, self.services.city_wide) if Role.SUPERVISOR in roles else Scope(frozenset())
            visitor = Visitor(user, roster.people.get(user, user), roles, csrf_for(session), scope)
            if post:
                form = await request.post()
                if not csrf_ok(session, str(form.get("csrf", ""))):
                    return self._error(403, "webview.error.csrf")
            return await page(request, visitor)

        return guarded

    # --- rendering ---------------------------------------------------------------------------------------------------
    def _render(self, template: str, visitor: Visitor | None, status: int = 200, **params: Any) -> web.Response:
        roster = self._roster()
        shown = [u for u in roster.units.values() if visitor is not None and visitor.scope.unit(u.id)]
        html = self.env.get_template(template).render(visitor=visitor, units=shown, lang=self.lang, **params)
        return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")

    def _error(self, status: int, key: str) -> web.Response:
        return self._render("error.html", None, status=status, message=t(key, self.lang))

    def _roster(self) -> Roster:
        return self.services.roster

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def _role(self, role: str) -> str:
        return role_label(role, self.lang) if role in (*ROLES, "unit") else t("webview.gap", self.lang)

    def _day(self, shown: date) -> str:
        return day(shown, self.lang)

    def _seconds(self, value: float | None) -> str:
        if value is None:
            return "–"
        minutes, secs = divmod(int(round(value)), 60)
        return f"{minutes} min {secs} s" if minutes else f"{secs} s"

    def _stamp(self, at: datetime | None) -> str:
        return "" if at is None else moment(at, self.lang)

    # --- login -------------------------------------------------------------------------------------------------------
    async def login_help(self, request: web.Request) -> web.StreamResponse:
        return self._render("login.html", None)

    async def login_confirm(self, request: web.Request) -> web.StreamResponse:
        # Using the link takes a click: a link preview or a virus scanner fetching the URL must not spend it.
        token = request.match_info["token"]
        if self.auth.link_user(token) is None:
            return self._error(403, "webview.error.link")
        # The form's CSRF token is bound to a random value in a cookie set with it (login CSRF).
        nonce = request.cookies.get(self.login_cookie, "") or secrets.token_urlsafe(32)
        response = self._render("login_confirm.html", None, token=token, csrf=login_csrf(nonce, token))
        self._set_cookie(response, self.login_cookie, nonce, self.auth.settings.link_ttl_s)
        return response

    async def login(self, request: web.Request) -> web.StreamResponse:
        address = self._address(request)
        if not self.limiter.allow(address):
            response = self._error(429, "webview.error.too_many")
            response.headers["Retry-After"] = str(self.limiter.retry_after(address))
            return response
        form = await request.post()
        token = str(form.get("token", ""))
        if self.auth.link_user(token) is None:  # read only: an unknown token writes nothing
            return self._error(403, "webview.error.link")
        if not login_csrf_ok(request.cookies.get(self.login_cookie, ""), token, str(form.get("csrf", ""))):
            return self._error(403, "webview.error.csrf")
        done = self.auth.log_in(token)
        if done is None:
            return self._error(403, "webview.error.link")
        user, session = done
        roles = self.services.roles_of(user)
        response = web.HTTPSeeOther("/" if Role.SUPERVISOR in roles else "/mine")
        self._set_cookie(response, self.cookie, session, self.auth.settings.session_ttl_s)
        self._del_cookie(response, self.login_cookie)
        raise response

    async def logout(self, request: web.Request, visitor: Visitor) -> web.StreamResponse:
        self.auth.log_out(request.cookies.get(self.cookie, ""))
        response = web.HTTPSeeOther("/login")
        self._del_cookie(response, self.cookie)
        raise response

    def _set_cookie(self, response: web.StreamResponse, name: str, value: str, max_age: int) -> None:
        response.set_cookie(name, value, httponly=True, samesite="Strict", path="/",
                            secure=self.settings.secure_cookie, max_age=max_age)

    def _del_cookie(self, response: web.StreamResponse, name: str) -> None:
        """With the attributes it was set with: a browser keeps a Secure (__Host-) cookie that a deletion without
        them does not match."""
        response.del_cookie(name, path="/", secure=self.settings.secure_cookie, httponly=True, samesite="Strict")

    @staticmethod
    def _address(request: web.Request) -> str:
        """Who is asking: the peer, or behind a reverse proxy on this host the client it names last in
        X-Forwarded-For (the proxy appends it)."""
        peer = request.remote or ""
        forwarded = request.headers.get("X-Forwarded-For", "")
        try:
            loopback = ipaddress.ip_address(peer).is_loopback
        except ValueError:
            loopback = False
        if loopback and forwarded:
            return forwarded.rsplit(",", 1)[-1].strip() or peer
        return peer

    # --- now ---------------------------------------------------------------------------------------------------------
    async def now_page(self, request: web.Request, visitor: Visitor) -> web.StreamResponse:
        roster, now = self._roster(), self._now()
        chains = [c for c in rosterdata.chains_now(roster, self.services.overrides.active(), now)
                  if visitor.scope.area(roster, c.area)]
        open_alarms = [alarmview.summary(a) for a in self.alarms.unfinished() if self._sees(visitor, a)]
        checkins = checkinview.labels(chains, roster, self.services.checkins, self.lang)
        return self._render("now.html", visitor, chains=chains, now=now.astimezone(roster.default_zone),
                            open_alarms=open_alarms, checkins=checkins)

    # --- week and month ----------------------------------------------------------------------------------------------
    async def week_page(self, request: web.Request, visitor: Visitor) -> web.StreamResponse:
        return self._calendar(request, visitor, month=False)

    async def month_page(self, request: web.Request, visitor: Visitor) -> web.StreamResponse:
        return self._calendar(request, visitor, month=True)

    def _sees(self, visitor: Visitor, alarm: Alarm) -> bool:
        return visitor.scope.alarm(self._roster(), alarm.unit, alarm.area)

    def _calendar(self, request: web.Request, visitor: Visitor, month: bool) -> web.Response:
        roster = self._roster()
        try:
            unit = roster.unit(request.match_info["unit"])
        except UnknownUnit:
            return self._error(404, "webview.error.no_unit")
        if not visitor.scope.unit(unit.id):
            return self._error(403, "webview.error.not_yours")
        today = self._now().astimezone(unit.tz).date()
        try:
            shown = date.fromisoformat(request.query.get("d", today.isoformat()))
        except ValueError:
            return self._error(400, "webview.error.bad_date")
        if abs((shown - today).days) > 3 * 365:
            return self._error(400, "webview.error.bad_date")
        if month:
            first, count = timeline.month_span(shown)
            before, after = (first - timedelta(days=1)).replace(day=1), first + timedelta(days=count)
        else:
            first, count = timeline.week_start(shown), 7
            before, after = first - timedelta(days=7), first + timedelta(days=7)
        start = day_start(first, unit.tz)
        end = day_start(first + timedelta(days=count), unit.tz)
        overrides = self.services.overrides.active()
        shifts = rosterdata.unit_shifts(roster, unit.id, start, end, overrides)
        gaps = rosterdata.unit_gaps(roster, unit.id, start, end, overrides)
        days = timeline.days(first, count, unit.tz, shifts, gaps, today, roster.people)
        areas = {a.id: a.name for a in roster.areas.values()}
        return self._render("calendar.html", visitor, unit=unit, days=days, month=month, first=first,
                            last=first + timedelta(days=count - 1), before=before, after=after, areas=areas,
                            gaps=gaps, overrides=[s for s in shifts if s.source == "override"],
                            covered=[s for s in shifts if s.covers], names=dict(roster.people),
                            roles=[r for r in ROLES if any(s.role == r for s in shifts)])

    # --- alarms ------------------------------------------------------------------------------------------------------
    async def alarms_page(self, request: web.Request, visitor: Visitor) -> web.StreamResponse:
        since = self._now() - timedelta(days=RECENT_DAYS)
        every = [a for a in self.alarms.all() if self._sees(visitor, a)]
        open_alarms = [alarmview.summary(a) for a in every if a.status not in FINISHED]
        recent = [alarmview.summary(a) for a in reversed(every) if a.status in FINISHED and a.raised_at >= since]
        return self._render("alarms.html", visitor, open_alarms=open_alarms, recent=recent, days=RECENT_DAYS)

    async def alarm_page(self, request: web.Request, visitor: Visitor) -> web.StreamResponse:
        alarm = self.alarms.get(request.match_info["id"].upper())
        if alarm is None:
            return self._error(404, "webview.error.no_alarm")
        if not self._sees(visitor, alarm):
            return self._error(403, "webview.error.not_yours")
        units = {u.id: u.name for u in self._roster().units.values()}
        moments = alarmview.moments(alarm, self.store.audit.about(alarm.id), units)
        tz = ZoneInfo(alarm.tz)
        seen = pagesview.seen_by_name(alarm, self.alarms.seen(alarm.id), tz)
        sms = pagesview.sms_lines(alarm, sms_outcomes(self.store, alarm.id), tz, self.lang)
        return self._render("alarm_detail.html", visitor, alarm=alarmview.summary(alarm), moments=moments,
                            known=alarmview.KNOWN, seen=seen, sms=sms, whys=pagesview.why_texts(self.lang))

    # --- roster check and statistics ---------------------------------------------------------------------------------
    async def check_page(self, request: web.Request, visitor: Visitor) -> web.StreamResponse:
        return self._check(visitor)

    def _check(self, visitor: Visitor, outcome: str = "", problems: Sequence[str] = (),
               status: int = 200) -> web.Response:
        roster, now = self._roster(), self._now()
        scope = visitor.scope
        found = [f for f in rosterdata.findings(roster, now, self.services.overrides.active())
                 if (scope.area(roster, f.subject) if f.kind == "gap" else
                     scope.unit(f.subject) if f.subject in roster.units else scope.person(roster, f.subject))]
        tz = roster.default_zone
        rows = [(roster.areas[g.subject].name, g.start.astimezone(tz), g.end.astimezone(tz),
                 (g.end.timestamp() - g.start.timestamp()) / 3600) for g in found if g.kind == "gap"]
        others = [(f.kind, f.text) for f in found if f.kind != "gap"]
        return self._render("check.html", visitor, status=status, rows=rows, others=others,
                            days=CHECK_DAYS, counts=(len(roster.areas), len(roster.units),
                                                                len(roster.people)),
                            outcome=outcome, problems=list(problems))

    async def readiness_page(self, request: web.Request, visitor: Visitor) -> web.StreamResponse:
        if self.readiness is None:
            raise web.HTTPNotFound()
        found = await self.readiness.current()
        roster = self._roster()
        zone = roster.default_zone
        last = found.start + timedelta(days=found.days - 1)
        scope = visitor.scope
        people = [(f, self._readiness_shift(f, roster)) for f in found.problems
                  if scope.city_wide or any(scope.unit(u) for u in f.person.units)]
        # From the store, not the homeserver: a changed identity is shown even when the homeserver cannot be asked.
        changed = [(user, roster.people.get(user, user)) for user in self.services.trust.changed_identities()
                   if scope.person(roster, user)]
        fine = [f.person.name for f in found.fine if scope.city_wide or any(scope.unit(u) for u in f.person.units)]
        return self._render("readiness.html", visitor, found=found, people=people, changed=changed,
                            fine=fine, checked=found.checked_at.astimezone(zone),
                            first=found.start.astimezone(zone).date(), last=last.astimezone(zone).date())

    def _readiness_shift(self, finding: Finding, roster: Roster) -> str:
        """"första pass tors 26/11 22:00 (Testjouren, primär)", or the units a supervisor without a shift leads."""
        shift = finding.person.first
        if shift is None:
            units = listing(sorted(roster.units[u].name for u in finding.person.units if u in roster.units), self.lang)
            return t("webview.ready.supervises", self.lang, units=units)
        unit = roster.units[shift.unit]
        return t("webview.ready.first", self.lang, when=self._stamp(shift.start.astimezone(unit.tz)),
                 unit=unit.name, role=role_label(shift.role, self.lang).lower())

    async def stats_page(self, request: web.Request, visitor: Visitor) -> web.StreamResponse:
        text = request.query.get("days", "30")
        days = int(text) if text.isdigit() and 0 < int(text) <= 3650 else None
        if days is None:
            return self._error(400, "webview.error.bad_period")
        now = self._now()
        chosen: list[Alarm] = [a for a in charts.in_period(self.alarms.all(), now - timedelta(days=days), now)
                               if self._sees(visitor, a)]
        figures = stats.figures(chosen, now - timedelta(days=days), now)
        tz = self._roster().default_zone
        area_chart = charts.bars(charts.per_area(chosen), (t("webview.stats.raised", self.lang),
                                 t("webview.stats.accepted", self.lang)), t("webview.stats.per_area", self.lang))
        week_chart = charts.bars(charts.per_week(chosen, now.astimezone(tz).date(), self.lang),
                                 (t("webview.stats.raised", self.lang),), t("webview.stats.per_week", self.lang))
        wait_chart = charts.bars(charts.time_to_accept(chosen), (t("webview.stats.accepted", self.lang),),
                                 t("webview.stats.time_to_accept", self.lang))
        # After acceptance (arrival, assessments, handovers): the same lines as !statistik says them.
        only = None if visitor.scope.city_wide else frozenset(a.id for a in chosen)
        _, evaluation = self.services.evaluation.evaluate(now - timedelta(days=days), now, None, only=only)
        decided = [charts.Row(t(f"handover.decision.{d}", self.lang), (evaluation.decisions.get(d, 0),))
                   for d in DECISIONS]
        shown = [area_chart, week_chart, wait_chart]
        if evaluation.decisions:
            shown.append(charts.bars(decided, (t("webview.stats.assessments", self.lang),),
                                     t("webview.stats.decisions", self.lang)))
        return self._render("statistics.html", visitor, days=days, figures=figures,
                            after=evaluation_lines(evaluation, self.lang), charts=[Markup(c) for c in shown])

    # --- overrides ---------------------------------------------------------------------------------------------------
    async def overrides_page(self, request: web.Request, visitor: Visitor) -> web.StreamResponse:
        return self._overrides_form(visitor)

    def _overrides_form(self, visitor: Visitor, error: str = "", form: dict[str, str] | None = None,
                        status: int = 200) -> web.Response:
        roster, now = self._roster(), self._now()
        current = [(o, describe(o, self.lang, unit_name=roster.units[o.unit].name if o.unit in roster.units
                                else None)) for o in self.services.overrides.current(now)
                   if visitor.scope.unit(o.unit)]
        people = self._people(visitor, roster)
        return self._render("overrides.html", visitor, status=status, current=current, people=people, roles=ROLES,
                            error=error, form=form or {})

    async def add_override(self, request: web.Request, visitor: Visitor) -> web.StreamResponse:
        form = {k: str(v).strip() for k, v in (await request.post()).items() if k != "csrf"}
        roster, now = self._roster(), self._now()
        words = [form.get("user", ""), form.get("start", ""), form.get("end", ""), form.get("unit", ""),
                 form.get("role", "")]
        # The same parser and rules as `!byt`: what chat refuses, the browser refuses, with the same words.
        command = Command("byt", tuple(w for w in words if w), "", visitor.user, "", "", now)
        ctx = Context(self.lang, now, visitor.roles, False, True, self.services)
        parsed = parse_override(command, ctx, roster)
        if isinstance(parsed, str):
            return self._overrides_form(visitor, parsed, form, status=400)
        if not visitor.scope.unit(parsed.unit):
            return self._error(403, "webview.error.not_yours")
        with self.store.transaction():
            added = self.services.overrides.add(parsed, visitor.user, now)
            unit = roster.units[added.unit]
            line = describe(added, self.lang, "override.added", unit.name)
            told = t("webview.override.told", self.lang, name=visitor.name, line=line)
            self.queue([SendUser(s, told) for s in sorted(self.services.supervisors())], f"web:override:{added.id}")
        shown = added.start.astimezone(unit.tz).date().isoformat()
        raise web.HTTPSeeOther(f"/units/{unit.id}/week?d={shown}")

    async def remove_override(self, request: web.Request, visitor: Visitor) -> web.StreamResponse:
        wanted = request.match_info["id"].upper()
        now = self._now()
        if any(o.id == wanted and not visitor.scope.unit(o.unit) for o in self.services.overrides.active()):
            return self._error(403, "webview.error.not_yours")
        with self.store.transaction():
            if not self.services.overrides.remove(wanted, visitor.user, now):
                return self._overrides_form(visitor, t("override.no_such", self.lang, id=wanted), status=404)
            told = t("webview.override.removed", self.lang, name=visitor.name, id=wanted)
            self.queue([SendUser(s, told) for s in sorted(self.services.supervisors())],
                       f"web:override-removed:{wanted}")
        raise web.HTTPSeeOther("/overrides")

    # --- leave -------------------------------------------------------------------------------------------------------
    async def leave_page(self, request: web.Request, visitor: Visitor) -> web.StreamResponse:
        return self._leave_form(visitor)

    def _leave_form(self, visitor: Visitor, error: str = "", form: dict[str, str] | None = None,
                    status: int = 200) -> web.Response:
        roster, now = self._roster(), self._now()
        scope = visitor.scope
        current = [(entry, leaveform.describe(entry, roster.people.get(entry.user, entry.user), self.lang))
                   for entry in self.leave.current(now) if scope.person(roster, entry.user)]
        stored = {entry.entry for entry in self.leave.active()}
        written = [entry for entry in roster.leave if entry.end > now and entry.entry not in stored
                   and scope.person(roster, entry.user)]
        people = self._people(visitor, roster)
        return self._render("leave.html", visitor, status=status, current=current, written=written, people=people,
                            error=error, form=form or {}, max_days=leaveform.MAX_DAYS,
                            names=dict(roster.people))

    async def add_leave(self, request: web.Request, visitor: Visitor) -> web.StreamResponse:
        form = {k: str(v).strip() for k, v in (await request.post()).items() if k != "csrf"}
        roster, now = self._roster(), self._now()
        parsed = leaveform.parse_leave(form, roster, now, self.lang)
        if isinstance(parsed, str):
            return self._leave_form(visitor, parsed, form, status=400)
        if not visitor.scope.person(roster, parsed.user):
            return self._error(403, "webview.error.not_yours")
        overrides = self.services.overrides.active()
        # The gaps this leave makes (nobody else to take the turn): said with it, before an alarm finds them.
        before = set(rosterdata.gaps(roster, parsed.start, parsed.end, overrides))
        made = [g for g in rosterdata.gaps(roster.with_leave([parsed]), parsed.start, parsed.end, overrides)
                if g not in before]
        with self.store.transaction():
            added = self.leave.add(parsed, visitor.user, now)
            line = leaveform.describe(added, roster.people[added.user], self.lang)
            told = "\n".join([t("webview.leave.told", self.lang, name=visitor.name, line=line), *(
                t("webview.leave.gap", self.lang, area=roster.areas[g.area].name if g.area in roster.areas else g.area,
                  start=g.start.astimezone(roster.default_zone).strftime("%Y-%m-%d %H:%M"),
                  end=g.end.astimezone(roster.default_zone).strftime("%Y-%m-%d %H:%M")) for g in made)])
            self.queue([SendUser(s, told) for s in sorted(self.services.supervisors())], f"web:leave:{added.entry}")
        raise web.HTTPSeeOther("/leave")

    async def remove_leave(self, request: web.Request, visitor: Visitor) -> web.StreamResponse:
        wanted = request.match_info["id"].upper()
        now = self._now()
        roster = self._roster()
        if any(e.entry == wanted and not visitor.scope.person(roster, e.user) for e in self.leave.active()):
            return self._error(403, "webview.error.not_yours")
        with self.store.transaction():
            if not self.leave.remove(wanted, visitor.user, now):
                return self._leave_form(visitor, t("webview.leave.no_such", self.lang, id=wanted), status=404)
            told = t("webview.leave.removed", self.lang, name=visitor.name, id=wanted)
            self.queue([SendUser(s, told) for s in sorted(self.services.supervisors())],
                       f"web:leave-removed:{wanted}")
        raise web.HTTPSeeOther("/leave")

    # --- identities --------------------------------------------------------------------------------------------------
    async def confirm_identity(self, request: web.Request, visitor: Visitor) -> web.StreamResponse:
        """The button beside a changed identity on the readiness page: the same as `!litar` in chat, audited, and the
        other supervisors are told."""
        user = str((await request.post()).get("user", "")).strip()
        if not visitor.scope.person(self._roster(), user):
            return self._error(403, "webview.error.not_yours")
        name = self._roster().people.get(user, user)
        with self.store.transaction():
            if not self.services.trust.confirm_identity(user, visitor.user):
                raise web.HTTPSeeOther("/readiness")  # confirmed meanwhile, or never changed: the page says which
            told = t("webview.identity.confirmed", self.lang, by=visitor.name, name=name, user=user)
            self.queue([SendUser(s, told) for s in sorted(self.services.supervisors())],
                       f"web:identity:{user}:{self._now().timestamp()!r}")
        raise web.HTTPSeeOther("/readiness")

    # --- reloading the rosters ---------------------------------------------------------------------------------------
    async def reload_rosters(self, request: web.Request, visitor: Visitor) -> web.StreamResponse:
        # The reloader tells every supervisor in chat and audits; the page shows the same outcome.
        candidate = await self.reload()
        problems: list[str] = []
        if candidate is None:
            outcome = t("webview.reload.same", self.lang)
        elif candidate.accepted:
            outcome = t("webview.reload.done", self.lang)
        else:
            outcome = tn("webview.reload.refused", len(candidate.problems), self.lang)
            problems = candidate.problems
        return self._check(visitor, outcome=outcome, problems=problems,
                           status=200 if candidate is None or candidate.accepted else 409)

    # --- calendar feeds ----------------------------------------------------------------------------------------------
    async def feeds_page(self, request: web.Request, visitor: Visitor, new_url: str = "",
                         error: str = "", status: int = 200) -> web.StreamResponse:
        roster = self._roster()
        zone = roster.default_zone
        shown = [f for f in self.auth.feeds() if self._feed_in_scope(visitor.scope, f, roster)]
        # Listed per person, for revocation when someone leaves: under whom a feed is about (a person's feed) and
        # under whom made it (every feed).
        per_person: dict[str, list[tuple[Feed, str, str, str]]] = {}
        for f in shown:
            name = roster.units[f.subject].name if f.kind == "unit" and f.subject in roster.units \
                else roster.people.get(f.subject, f.subject)
            ends = datetime.fromtimestamp(f.expires_at, UTC).astimezone(zone).date().isoformat()
            dead = self._feed_dead(f, roster)
            for person in dict.fromkeys(([f.subject] if f.kind == "person" else []) + [f.created_by]):
                per_person.setdefault(person, []).append((f, name, ends, dead))
        persons = sorted(per_person.items(), key=lambda item: roster.people.get(item[0], item[0]))
        listed = [(user, roster.people.get(user, user), feeds) for user, feeds in persons]
        people = self._people(visitor, roster)
        return self._render("feeds.html", visitor, status=status, listed=listed, people=people, new_url=new_url,
                            error=error, days=self.auth.settings.feed_days)

    def _feed_in_scope(self, scope: Scope, feed: Feed, roster: Roster) -> bool:
        return scope.unit(feed.subject) if feed.kind == "unit" else scope.person(roster, feed.subject)

    def _feed_dead(self, feed: Feed, roster: Roster) -> str:
        """Why a feed no longer works though it is neither revoked nor run out: its maker no longer supervises what
        it shows, or its subject is gone from the rosters; "" when it works."""
        maker = self.services.roles_of(feed.created_by)
        if Role.SUPERVISOR not in maker or not self._feed_in_scope(
                scope_of(feed.created_by, roster, self.services.city_wide), feed, roster):
            return t("webview.feeds.dead_maker", self.lang)
        if feed.kind == "unit" and feed.subject not in roster.units:
            return t("webview.feeds.dead_subject", self.lang)
        if feed.kind == "person" and not self.services.roles_of(feed.subject) & {Role.SUPERVISOR, Role.RESPONDER}:
            return t("webview.feeds.dead_subject", self.lang)
        return ""

    async def add_feed(self, request: web.Request, visitor: Visitor) -> web.StreamResponse:
        form = await request.post()
        whose = str(form.get("whose", ""))
        roster = self._roster()
        kind, _, subject = whose.partition(":")
        if not ((kind == "unit" and subject in roster.units) or (kind == "person" and subject in roster.people)):
            return await self.feeds_page(request, visitor, error=t("webview.feeds.bad", self.lang), status=400)
        if not self._feed_in_scope(visitor.scope, Feed("", kind, subject, visitor.user, 0.0, 0.0), roster):
            return self._error(403, "webview.error.not_yours")
        _, url = self.auth.add_feed(kind, subject, visitor.user)
        return await self.feeds_page(request, visitor, new_url=url)

    async def revoke_feed(self, request: web.Request, visitor: Visitor) -> web.StreamResponse:
        wanted = request.match_info["id"]
        roster = self._roster()
        if any(f.id == wanted and not self._feed_in_scope(visitor.scope, f, roster) for f in self.auth.feeds()):
            return self._error(403, "webview.error.not_yours")
        if not self.auth.revoke_feed(wanted, visitor.user):
            return await self.feeds_page(request, visitor, error=t("webview.feeds.bad", self.lang), status=404)
        raise web.HTTPSeeOther("/feeds")

    async def feed(self, request: web.Request) -> web.StreamResponse:
        found = self.auth.feed(request.match_info["token"])
        roster = self._roster()
        if found is None or self._feed_dead(found, roster):
            raise web.HTTPNotFound()
        overrides, now = self.services.overrides.active(), self._now()
        if found.kind == "unit":
            data = rosterdata.unit_calendar(roster, found.subject, now, overrides, self.lang)
        else:
            data = rosterdata.person_calendar(roster, found.subject, now, overrides, self.lang)
        return web.Response(body=data, content_type="text/calendar", charset="utf-8")

    def _people(self, visitor: Visitor, roster: Roster) -> list[tuple[str, str]]:
        """The people a supervisor may choose in a form: those of the units they supervise, by name."""
        return sorted(((user, name) for user, name in roster.people.items() if visitor.scope.person(roster, user)),
                      key=lambda item: item[1])

    # --- a responder's own shifts ------------------------------------------------------------------------------------
    async def mine_page(self, request: web.Request, visitor: Visitor) -> web.StreamResponse:
        roster, now = self._roster(), self._now()
        shifts = rosterdata.person_shifts(roster, visitor.user, now, now + timedelta(days=MINE_DAYS),
                                          self.services.overrides.active())
        units = {u.id: u.name for u in roster.units.values()}
        return self._render("mine.html", visitor, shifts=shifts, unit_names=units, days=MINE_DAYS)
