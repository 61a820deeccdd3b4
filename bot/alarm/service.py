"""Carries out the alarm state machine: loads and stores alarms, renders effects into messages, arms deadlines.

Every method runs inside the store transaction the runtime opened for the command or timer at hand, so the new
alarm state, its audit entry, its deadline and the messages announcing it are written together.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot import alarms
from bot.alarm_messages import page_text, pick_refusal, render
from bot.alarms import Alarm, Ambiguous, AnnounceUnit, Answer, ClearDeadline, Notify, Outcome, Page, SetDeadline
from handlers.i18n import catalog, t
from handlers.registry import Command, Context, Effect, Reply, Role, SendRoom, SendUser
from rosters import Override, UnknownArea

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

TEXTS = catalog(
    {
        "alarmsvc.unknown_area": (
            "Okänt område \"{text}\". Närmast: {suggestions}. Inget larm registrerat.",
            "Unknown area \"{text}\". Nearest: {suggestions}. No alarm registered.",
        ),
        "alarmsvc.rate_limited": (
            "Du har skickat {count} larm de senaste {minutes} minuterna; vänta lite eller ring jouren direkt."
            " Inget nytt larm registrerat.",
            "You have sent {count} alarms in the last {minutes} minutes; wait a little or phone the duty unit directly."
            " No new alarm registered.",
        ),
        "alarmsvc.no_such_alarm": ("Det finns inget larm {id}.", "There is no alarm {id}."),
        "alarmsvc.status_none": ("Inga öppna larm.", "No open alarms."),
        "alarmsvc.status_line": ("{id} {area} {time} — {state}", "{id} {area} {time} — {state}"),
        "alarmsvc.state.open": ("söker: {names}", "paging: {names}"),
        "alarmsvc.state.exhausted": ("ingen har accepterat; reservnumret är skickat", "nobody accepted; fallback sent"),
        "alarmsvc.state.accepted": ("accepterat av {name} {time}", "accepted by {name} {time}"),
        "alarmsvc.state.closed": ("avslutat av {name} {time}", "closed by {name} {time}"),
        "alarmsvc.not_police_room_alarm": (
            "{id} hör inte till det här rummet.",
            "{id} does not belong to this room.",
        ),
    }
)


class AlarmService:
    def __init__(self, app: App) -> None:
        self.app = app
        self.store = app.store
        self.lang = app.lang

    # --- persistence ---------------------------------------------------------------------------------------------
    def load(self, alarm_id: str) -> tuple[Alarm, str] | None:
        row = self.store.db.execute("SELECT state, details FROM alarms WHERE id = ?", [alarm_id]).fetchone()
        if row is None:
            return None
        state = json.loads(self.store.box.open(row[0], f"state:{alarm_id}"))
        return Alarm.from_dict(state), self.store.box.open(row[1], f"details:{alarm_id}")

    def alarms(self, statuses: tuple[str, ...] = ("open", "exhausted", "accepted")) -> list[Alarm]:
        marks = ",".join("?" for _ in statuses)
        rows = self.store.db.execute(
            f"SELECT id, state FROM alarms WHERE status IN ({marks}) ORDER BY number", list(statuses)
        ).fetchall()
        return self._decode(rows)

    def _decode(self, rows: list[tuple[str, str]]) -> list[Alarm]:
        """(id, sealed state) rows → alarms; the id is bound into the ciphertext, so rows cannot be swapped."""
        return [Alarm.from_dict(json.loads(self.store.box.open(state, f"state:{i}"))) for i, state in rows]

    def _save(self, alarm: Alarm, details: str | None = None) -> None:
        state = self.store.box.seal(json.dumps(alarm.to_dict()), f"state:{alarm.id}")
        now = self.app.clock()
        if details is not None:
            self.store.db.execute(
                "INSERT INTO alarms(id, number, status, area, unit, raised_by, raised_at, police_room, state, details,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    alarm.id, alarm.number, alarm.status, alarm.area, alarm.unit, alarm.raised_by,
                    alarm.raised_at.timestamp(), alarm.police_room, state,
                    self.store.box.seal(details, f"details:{alarm.id}"), now,
                ],
            )
        else:
            self.store.db.execute(
                "UPDATE alarms SET status = ?, state = ?, updated_at = ? WHERE id = ?",
                [alarm.status, state, now, alarm.id],
            )

    def _next_number(self) -> int:
        row = self.store.db.execute("SELECT MAX(number) FROM alarms").fetchone()
        return int(row[0] or 0) + 1

    def overrides(self) -> list[Override]:
        return self.app.override_store.active()

    # --- effects -------------------------------------------------------------------------------------------------
    def _carry_out(self, outcome: Outcome, actor: str, details: str | None = None) -> list[Effect]:
        """Persist a changed alarm with its audit entry and deadline; turn its effects into messages."""
        alarm = outcome.alarm
        if outcome.changed:
            if outcome.event == "raised":
                self._save(alarm, details or "")
            else:
                self._save(alarm)
            self.store.audit(actor, f"alarm.{outcome.event}", alarm.id, {"status": alarm.status, "step": alarm.step})
        if details is None:
            loaded = self.load(alarm.id) if any(isinstance(e, Page) for e in outcome.effects) else None
            details = loaded[1] if loaded else ""
        out: list[Effect] = []
        for effect in outcome.effects:
            if isinstance(effect, Page):
                out.append(
                    SendUser(
                        effect.user,
                        page_text(alarm, self.lang, details),
                        notice=False,  # an m.notice does not ping; a page must
                        mention=True,
                        purpose=f"page:{alarm.id}",
                    )
                )
                log.info("alarm %s: paging %s (step %d)", alarm.id, effect.user, effect.step)
            elif isinstance(effect, Answer):
                out.append(Reply(render(effect, self.lang)))
            elif isinstance(effect, Notify):
                text = render(effect, self.lang)
                if effect.to_room:
                    out.append(SendRoom(effect.to_room, text, reply_to=effect.reply_to))
                elif effect.to_user:
                    out.append(SendUser(effect.to_user, text, purpose=f"notify:{alarm.id}"))
            elif isinstance(effect, AnnounceUnit):
                unit_room = self.app.config.units.get(effect.unit)
                if unit_room:
                    out.append(SendRoom(unit_room.room, render(effect, self.lang)))
            elif isinstance(effect, SetDeadline):
                self.store.db.execute(
                    "INSERT OR REPLACE INTO deadlines(alarm_id, at) VALUES (?, ?)",
                    [effect.alarm_id, effect.at.timestamp()],
                )
                self.app.timers.arm(effect.alarm_id, effect.at.astimezone(UTC))
            elif isinstance(effect, ClearDeadline):
                self.store.db.execute("DELETE FROM deadlines WHERE alarm_id = ?", [effect.alarm_id])
                self.app.timers.disarm(effect.alarm_id)
        return out

    # --- commands ------------------------------------------------------------------------------------------------
    def raise_from(self, command: Command, ctx: Context) -> list[Effect]:
        roster = self.app.roster
        window = self.app.config.alarms.rate_limit_window_s
        recent = self.store.db.execute(
            "SELECT COUNT(*) FROM alarms WHERE raised_by = ? AND raised_at > ?",
            [command.sender, ctx.now.timestamp() - window],
        ).fetchone()[0]
        if recent >= self.app.config.alarms.rate_limit_count:
            log.warning("alarm from %s refused: rate limit", command.sender)
            return [Reply(t("alarmsvc.rate_limited", ctx.lang, count=recent, minutes=max(1, window // 60)))]
        found = roster.split_area(command.rest)
        if found is None:
            first = command.args[0] if command.args else ""
            suggestions = ", ".join(roster.suggest_areas(first)) or ", ".join(a.name for a in roster.areas.values())
            return [Reply(t("alarmsvc.unknown_area", ctx.lang, text=first, suggestions=suggestions))]
        area, details = found
        try:
            chain = roster.who(area.id, ctx.now, self.overrides())
        except UnknownArea as err:  # pragma: no cover - split_area found it a moment ago
            return [Reply(t("alarmsvc.unknown_area", ctx.lang, text=area.name, suggestions=", ".join(err.suggestions)))]
        wait = self.app.config.alarms.step_wait_override_s
        if wait:
            chain = replace(chain, steps=tuple(replace(s, wait_s=wait) for s in chain.steps))
        supervisors = sorted(roster.supervisors(chain.unit) | set(self.app.config.roles.supervisors))
        outcome = alarms.raise_alarm(
            self._next_number(), chain, command.room_id, command.event_id, command.sender, supervisors, ctx.now
        )
        log.info("alarm %s raised for area %s by %s", outcome.alarm.id, area.id, command.sender)
        return self._carry_out(outcome, command.sender, details)

    def _target(self, command: Command, ctx: Context, id_text: str | None, word: str) -> Alarm | list[Effect]:
        """The alarm a command means: by id, by the page it replies to, or the sender's only open page."""
        if id_text:
            alarm_id = alarms.normalize_alarm_id(id_text)
            loaded = self.load(alarm_id) if alarm_id else None
            if loaded is None:
                return [Reply(t("alarmsvc.no_such_alarm", ctx.lang, id=id_text))]
            return loaded[0]
        if command.reply_to:
            row = self.store.db.execute(
                "SELECT alarm_id FROM page_events WHERE event_id = ?", [command.reply_to]
            ).fetchone()
            if row:
                loaded = self.load(row[0])
                if loaded:
                    return loaded[0]
            if command.implicit:
                return []  # a reaction or "ok" to something that is not a page: not meant for us
        picked = alarms.pick_alarm(
            self.alarms(("open", "exhausted", "accepted")), command.sender, Role.SUPERVISOR in ctx.roles
        )
        if picked is None or isinstance(picked, Ambiguous):
            return [Reply(pick_refusal(picked, ctx.lang, command=f"!{word}"))]
        return picked

    def _name(self, user: str) -> str | None:
        return self.app.roster.people.get(user) if self.app.roster else None

    def accept(self, command: Command, ctx: Context, id_text: str | None) -> list[Effect]:
        target = self._target(command, ctx, id_text, "ok")
        if isinstance(target, list):
            return target
        supervisor = Role.SUPERVISOR in ctx.roles
        outcome = alarms.on_accept(target, command.sender, ctx.now, supervisor, name=self._name(command.sender))
        return self._carry_out(outcome, command.sender)

    def decline(self, command: Command, ctx: Context, id_text: str | None, reason: str) -> list[Effect]:
        target = self._target(command, ctx, id_text, "nej")
        if isinstance(target, list):
            return target
        return self._carry_out(alarms.on_decline(target, command.sender, reason, ctx.now), command.sender)

    def close(self, command: Command, ctx: Context, id_text: str | None, note: str) -> list[Effect]:
        target = self._target(command, ctx, id_text, "klar")
        if isinstance(target, list):
            return target
        supervisor = Role.SUPERVISOR in ctx.roles
        outcome = alarms.on_close(target, command.sender, note, ctx.now, supervisor, name=self._name(command.sender))
        return self._carry_out(outcome, command.sender)

    def status(self, command: Command, ctx: Context, id_text: str | None) -> list[Effect]:
        if id_text:
            target = self._target(command, ctx, id_text, "status")
            if isinstance(target, list):
                return target
            shown = [target]
        else:
            shown = self.alarms(("open", "exhausted", "accepted"))
        if ctx.roles == frozenset({Role.POLICE}):
            # Police see the alarms of their own rooms only.
            shown = [a for a in shown if a.police_room == command.room_id]
        if not shown:
            return [Reply(t("alarmsvc.status_none", ctx.lang))]
        return [Reply("\n".join(self._status_line(a, ctx.lang) for a in shown))]

    def _status_line(self, alarm: Alarm, lang: str) -> str:
        if alarm.status == "open":
            state = t("alarmsvc.state.open", lang, names=", ".join(alarm.name_of(u) for u in alarm.pending) or "—")
        elif alarm.status == "exhausted":
            state = t("alarmsvc.state.exhausted", lang)
        elif alarm.status == "accepted":
            state = t("alarmsvc.state.accepted", lang, name=alarm.accepted_name or alarm.accepted_by or "",
                      time=alarms.local_time(alarm, alarm.accepted_at or alarm.raised_at))
        else:
            state = t("alarmsvc.state.closed", lang, name=alarm.closed_name or alarm.closed_by or "",
                      time=alarms.local_time(alarm, alarm.closed_at or alarm.raised_at))
        return t("alarmsvc.status_line", lang, id=alarm.id, area=alarm.area_name,
                 time=alarms.local_time(alarm, alarm.raised_at), state=state)

    # --- timers and delivery -------------------------------------------------------------------------------------
    def fire_deadline(self, alarm_id: str, now: datetime) -> list[Effect]:
        row = self.store.db.execute("SELECT at FROM deadlines WHERE alarm_id = ?", [alarm_id]).fetchone()
        loaded = self.load(alarm_id)
        if row is None or loaded is None:
            return []
        due = datetime.fromtimestamp(row[0], UTC)
        outcome = alarms.on_deadline(loaded[0], now, due=due)
        if not outcome.changed and now < due:
            self.app.timers.arm(alarm_id, due)  # woke early (clock adjustments): sleep again
        return self._carry_out(outcome, "timer", loaded[1])

    def rearm_all(self) -> int:
        rows = self.store.db.execute("SELECT alarm_id, at FROM deadlines").fetchall()
        for alarm_id, at in rows:
            self.app.timers.arm(alarm_id, datetime.fromtimestamp(at, UTC))
        return len(rows)

    def on_sent(self, purpose: str, target: str, event_id: str) -> None:
        """Remember which event is which page, so a ✅ reaction or an "ok" reply to it accepts that alarm."""
        if purpose.startswith("page:"):
            self.store.db.execute(
                "INSERT OR IGNORE INTO page_events(event_id, alarm_id, user_id) VALUES (?, ?, ?)",
                [event_id, purpose.split(":", 1)[1], target],
            )

    def stats(self, start: datetime, end: datetime) -> dict[str, Any]:
        rows = self.store.db.execute(
            "SELECT id, state FROM alarms WHERE raised_at >= ? AND raised_at < ? ORDER BY number",
            [start.timestamp(), end.timestamp()],
        ).fetchall()
        return alarms.stats(self._decode(rows), start, end)

