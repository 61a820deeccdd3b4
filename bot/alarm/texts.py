"""Every text the alarm lifecycle shows, in Swedish and English, and how effects become text.

The state machine (bot.alarm.machine) returns effects with a key and language-free params; this module turns them into
a message in the reader's language. The page is rendered separately because only the store holds the details.
"""

from __future__ import annotations

from typing import Any

from bot.alarm.machine import Alarm, AnnounceUnit, Answer, Notify, local_time
from handlers.i18n import catalog, t
from handlers.roster import role_label

TEXTS = catalog(
    {
        # --- to the police room, as replies to the !larm message
        "alarm.raised": (
            "🚨 Larm {id} ({area}) registrerat {time}. Söker: {names} ({unit}).",
            "🚨 Alarm {id} ({area}) registered {time}. Paging: {names} ({unit}).",
        ),
        "alarm.raised_nobody": (
            "🚨 Larm {id} ({area}) registrerat {time}. Ingen i jour hos {unit} kan sökas just nu.",
            "🚨 Alarm {id} ({area}) registered {time}. No one on call at {unit} can be paged right now.",
        ),
        "alarm.escalated": (
            "⏫ {id}: ingen har tagit larmet än. Söker nu även: {names} ({unit}).",
            "⏫ {id}: no one has taken it yet. Now also paging: {names} ({unit}).",
        ),
        "alarm.accepted": (
            "✅ {id} accepterat av {name} ({unit}) {time} — tel {phone}",
            "✅ {id} accepted by {name} ({unit}) {time} — phone {phone}",
        ),
        "alarm.fallback": (
            "⚠️ Ingen har accepterat {id}. Ring {unit} direkt: {phone}",
            "⚠️ No one has accepted {id}. Call {unit} directly: {phone}",
        ),
        "alarm.fallback_nobody": (
            "⚠️ Ingen i jour kan nås för {id} ({area}). Ring {unit} direkt: {phone}",
            "⚠️ No one on call can be reached for {id} ({area}). Call {unit} directly: {phone}",
        ),
        "alarm.closed": (
            "☑️ {id} avslutat av {name} {time}.",
            "☑️ {id} closed by {name} {time}.",
        ),
        "alarm.cancelled": (
            "🚫 {id} ({area}) avbrutet {time}. Ingen från {unit} åker på det här larmet.",
            "🚫 {id} ({area}) cancelled {time}. No one from {unit} goes out on this alarm.",
        ),
        "alarm.unreachable": (
            "⚠️ {id}: {names} kunde inte nås ({reason}).",
            "⚠️ {id}: {names} could not be reached ({reason}).",
        ),
        # --- to responders and supervisors, in their direct rooms
        "alarm.unreachable_supervisor": (
            "⚠️ {id} ({area}): {name} kunde inte nås — {reason}. Larmet går vidare i kedjan.",
            "⚠️ {id} ({area}): {name} could not be reached — {reason}. The alarm moves on down the chain.",
        ),
        "alarm.police_room_unreachable": (
            "⚠️ {id} ({area}): jag kunde inte skriva i polisrummet — {reason}. Polisen kan sakna besked om larmet;"
            " ring dem.",
            "⚠️ {id} ({area}): I could not post in the police room — {reason}. The police may not know how the alarm"
            " stands; phone them.",
        ),
        # --- why someone could not be reached, in plain words
        "alarm.reason.too_large": ("meddelandet var för stort för servern", "the message was too large for the server"),
        "alarm.reason.forbidden": ("servern lät inte jourbot skriva dit", "the server did not let jourbot write there"),
        "alarm.reason.unknown_user": ("kontot finns inte på servern", "the account does not exist on the server"),
        "alarm.reason.no_trusted_device": (
            "hen har ingen inloggning som hen själv har verifierat",
            "they have no login they have verified themselves",
        ),
        "alarm.reason.room_gone": ("jourbot är inte med i rummet", "jourbot is not in the room"),
        "alarm.reason.rejected": ("servern avvisade meddelandet", "the server rejected the message"),
        "alarm.reason.timeout": ("sökningen kom inte fram i tid", "the page did not arrive in time"),
        "alarm.taken": (
            "{id} ({area}) är taget av {name} ({unit}) {time}. Du behöver inte svara.",
            "{id} ({area}) has been taken by {name} ({unit}) {time}. You need not answer.",
        ),
        "alarm.cancelled_for_you": (
            "🚫 {id} ({area}) har avbrutits {time} och gäller inte längre. Du behöver inte göra något.",
            "🚫 {id} ({area}) was cancelled {time} and no longer stands. Nothing is needed from you.",
        ),
        "alarm.closed_for_you": (
            "{id} ({area}) har avslutats av {name} {time}. Du behöver inte göra något mer.",
            "{id} ({area}) was closed by {name} {time}. Nothing more is needed from you.",
        ),
        "alarm.gap": (
            "⚠️ {id} ({area}): jourschemat har en lucka ({roles}). Larmet gick direkt vidare i kedjan.",
            "⚠️ {id} ({area}): the roster has a gap ({roles}). The alarm went straight on down the chain.",
        ),
        # --- answers to the sender of !ok, !nej, !klar
        "alarm.accept_ok": (
            "✅ Du har {id} ({area}). Polisen har fått besked. Avsluta med !klar {id} [notering].",
            "✅ {id} ({area}) is yours. The police have been told. Close it with !klar {id} [note].",
        ),
        "alarm.already_yours": (
            "Du har redan {id}.",
            "{id} is already yours.",
        ),
        "alarm.already_taken": (
            "{id} är redan taget av {name} ({time}).",
            "{id} has already been taken by {name} ({time}).",
        ),
        "alarm.closed_already": (
            "{id} är redan avslutat.",
            "{id} is already closed.",
        ),
        "alarm.not_paged": (
            "Du har inte blivit sökt för {id}.",
            "You were not paged for {id}.",
        ),
        "alarm.decline_ok": (
            "Du har avböjt {id}.",
            "You have declined {id}.",
        ),
        "alarm.declined_already": (
            "Du har redan avböjt {id}.",
            "You have already declined {id}.",
        ),
        "alarm.decline_own": (
            "Du har accepterat {id}. Avsluta med !klar {id}, eller be jourchefen ta över.",
            "You have accepted {id}. Close it with !klar {id}, or ask the supervisor to take over.",
        ),
        "alarm.close_ok": (
            "{id} är avslutat.",
            "{id} is closed.",
        ),
        "alarm.cancel_ok": (
            "{id} är avbrutet. De som söktes har fått besked.",
            "{id} is cancelled. Those who were paged have been told.",
        ),
        "alarm.cancel_forbidden": (
            "Bara den som larmade om {id}, eller en jourchef, kan avbryta det.",
            "Only whoever raised {id}, or a supervisor, can cancel it.",
        ),
        "alarm.cancelled_already": (
            "{id} är redan avbrutet.",
            "{id} has already been cancelled.",
        ),
        "alarm.close_forbidden": (
            "Bara den som har accepterat {id}, eller en jourchef, kan avsluta det.",
            "Only whoever accepted {id}, or a supervisor, can close it.",
        ),
        # --- the unit's room: never the free text
        "alarm.unit.raised": (
            "🚨 {id} ({area}) {time}: söker {names}.",
            "🚨 {id} ({area}) {time}: paging {names}.",
        ),
        "alarm.unit.escalated": (
            "⏫ {id} ({area}): söker nu även {names}.",
            "⏫ {id} ({area}): now also paging {names}.",
        ),
        "alarm.unit.accepted": (
            "✅ {id} ({area}) accepterat av {name} {time}.",
            "✅ {id} ({area}) accepted by {name} {time}.",
        ),
        "alarm.unit.fallback": (
            "⚠️ {id} ({area}): ingen har accepterat. Polisen har fått numret {phone}.",
            "⚠️ {id} ({area}): no one has accepted. The police were given the number {phone}.",
        ),
        "alarm.unit.cancelled": (
            "🚫 {id} ({area}) avbrutet {time}.",
            "🚫 {id} ({area}) cancelled {time}.",
        ),
        "alarm.unit.closed": (
            "☑️ {id} ({area}) avslutat av {name} {time}.",
            "☑️ {id} ({area}) closed by {name} {time}.",
        ),
        # --- the page itself
        "alarm.page": (
            "🚨 Larm {id} — {area}, {time}\n{details}\n\n"
            "Ta larmet: !ok {id}, en ✅-reaktion, eller svara ”ok” på det här meddelandet.\n"
            "Kan du inte: !nej {id} [orsak]",
            "🚨 Alarm {id} — {area}, {time}\n{details}\n\n"
            "Take it: !ok {id}, a ✅ reaction, or reply “ok” to this message.\n"
            "If you cannot: !nej {id} [reason]",
        ),
        "alarm.page_shortened": (
            "… (texten är lång: här visas början, och den som tar larmet får resten)",
            "… (the text is long: this is its beginning, and whoever takes the alarm gets the rest)",
        ),
        "alarm.police_text_shortened": (
            "ℹ️ {id}: fritexten var för lång för en sökning. De sökta ser början av den; den som tar larmet får hela.",
            "ℹ️ {id}: the free text was too long for a page. Those paged see its beginning; whoever takes the alarm"
            " gets all of it.",
        ),
        "alarm.text_continued": (
            "Polisens text för {id}, fortsättning ({part} av {parts}):\n{text}",
            "The police's text for {id}, continued ({part} of {parts}):\n{text}",
        ),
        "alarm.page_no_details": (
            "(ingen fritext från polisen)",
            "(no details from the police)",
        ),
    }
)


def render(effect: Notify | Answer | AnnounceUnit, lang: str) -> str:
    """The text of a message effect in `lang`. Pages are rendered with `page_text`, which needs the details."""
    if not isinstance(effect, Notify | Answer | AnnounceUnit):
        raise TypeError(f"{type(effect).__name__} is not a message")
    return t(effect.key, lang, **_localize(effect.params, lang))


def page_text(alarm: Alarm, lang: str, details: str, shortened: bool = False) -> str:
    """The page sent to one responder: area, when it was raised (local HH:MM), the police's details, how to answer.
    `shortened`: `details` is only the beginning of the police's text, and the page says so."""
    details = details.strip() or t("alarm.page_no_details", lang)
    if shortened:
        details += " " + t("alarm.page_shortened", lang)
    return t(
        "alarm.page",
        lang,
        id=alarm.id,
        area=alarm.area_name,
        unit=alarm.unit_name,
        time=local_time(alarm, alarm.raised_at),
        details=details,
    )


def _localize(params: dict[str, Any], lang: str) -> dict[str, Any]:
    out = dict(params)
    if "roles" in out:
        out["roles"] = ", ".join(_role(r, lang) for r in out["roles"])
    if "reason" in out:
        out["reason"] = reason_text(str(out["reason"]), lang)
    return out


REASONS = ("too_large", "forbidden", "unknown_user", "no_trusted_device", "room_gone", "rejected", "timeout")


def reason_text(reason: str, lang: str) -> str:
    """A failure class (bot.matrix.port.DeliveryFailure.reason) in plain words."""
    return t(f"alarm.reason.{reason if reason in REASONS else 'rejected'}", lang)


def _role(role: str, lang: str) -> str:
    return role_label(role, lang).lower()  # inside a sentence
