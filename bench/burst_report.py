"""The figures of bench/alarm_burst.py beside their targets, and the text it prints."""

from __future__ import annotations

import json
import statistics
from typing import Any

from plumbing import Target, print_targets


def verdicts(out: dict[str, Any]) -> list[Target]:
    rows: list[Target] = []

    def row(name: str, value: float | None, target: str, met: bool | None) -> None:
        rows.append(Target(name, value, target, met, "×" if "÷" in name else "ms"))

    # The floor is the same traffic between plain clients, sent in order per room (see ordered_floor), measured as the
    # burst is: from the officers' last send to the last message at anna.a.
    for key, label in (("burst", "empty store"), ("history", "history")):
        b = out.get(key, {}) if key == "burst" else out.get(key, {}).get("burst", {})
        # Each burst against the ordered floor measured beside it: the history's in the history room.
        floor_ms = (out if key == "burst" else out.get(key, {})).get("ordered_floor", {}).get(
            "last_send_to_last_received_ms")
        limit_ms = max(2000.0, 1.5 * floor_ms) if floor_ms is not None else 2000.0
        rule = f"≤ {limit_ms:.0f} ms (2 s, or 1.5 × the ordered floor if the homeserver is slower)"
        if b:
            v = b["last_send_to_last_page_ms"]
            row(f"burst ({label}): last page after the last send", v, rule, v <= limit_ms and b["complete"])
            row(f"burst ({label}): every alarm paged once, nobody else", None, "all checks pass", b["checks"]["ok"])
    for key, label in (("lateness", "empty store"), ("history", "history")):
        lat = out.get(key, {}) if key == "lateness" else out.get(key, {}).get("lateness", {})
        if lat and lat["bot_lateness"].get("n"):
            # As the issue defines it: page sent − deadline, from the bot's own records. Early counts as much as
            # late: an escalation before anna.a had her full wait is no better.
            v = max(abs(lat["bot_lateness"]["max_ms"]), abs(lat["bot_lateness"]["min_ms"]))
            row(f"escalation lateness ({label}), page sent − deadline, largest of {lat['bot_lateness']['n']}", v,
                "≤ 200 ms", v <= 200 and lat["complete"])
    empty, hist = out.get("burst"), out.get("history", {})
    pairs = []
    floors = (out.get("ordered_floor", {}).get("last_send_to_last_received_ms"),
              hist.get("ordered_floor", {}).get("last_send_to_last_received_ms"))
    if empty and hist.get("burst") and floors[0] and floors[1]:
        # The homeserver itself slows as its database grows; what must not grow is the bot's part. So the burst is
        # compared as a multiple of the ordered floor measured beside it, before and after the history.
        for fig in ("last_send_to_last_page_ms", "last_send_to_last_ack_ms"):
            before, after = empty[fig] / floors[0], hist["burst"][fig] / floors[1]
            ok = after - before <= 0.2 * before
            row(f"history vs empty: burst {fig} ÷ ordered floor", round(after, 2),
                f"≤ {before:.2f} + 20 % (empty store)", ok)
    key = "bot_lateness"
    if out.get("lateness", {}).get(key, {}).get("n") and hist.get("lateness", {}).get(key, {}).get("n"):
        for fig in ("median_ms", "p95_ms", "max_ms"):
            pairs.append((f"lateness {fig}", out["lateness"][key][fig], hist["lateness"][key][fig]))
    for name, before, after in pairs:
        # History must not cost: at most 20 % (or, near zero where a ratio means nothing, 50 ms) above the
        # empty-store figure. Lower is shown but not held against it: that is noise, or the empty run's first contacts.
        ok = after - before <= max(0.2 * abs(before), 50.0)
        way = "" if abs(after - before) <= max(0.2 * abs(before), 50.0) else (
            " (history higher)" if after > before else " (history lower)")
        row(f"history vs empty: {name}", after, f"≤ {before:.0f} ms + 20 % (or + 50 ms){way}", ok)
    fl = out.get("flood")
    if fl:
        delay = fl["page_ms_after_flood"] - statistics.median(fl["page_ms_before"])
        row(f"flood: a police page right after {fl['commands']:,} stranger commands, later than without",
            round(delay, 1), "< 1000 ms", delay < 1000)
    big = out.get("bigroom")
    if big:
        for kind, label in (("page", "page latency"), ("ack", "police reply latency")):
            v = big["big"][kind].get("median_ms")
            small = big["small"][kind].get("median_ms")
            row(f"big room {label}, median", v, f"≤ 2 × small room ({small} ms)", v is not None and small is not None
                and v <= 2 * small)
    return rows


def stat_line(label: str, s: dict[str, Any]) -> str:
    if not s.get("n"):
        return f"  {label:44} no samples"
    return (f"  {label:44} median {s['median_ms']:8.1f}  p95 {s['p95_ms']:8.1f}  max {s['max_ms']:8.1f}  "
            f"min {s['min_ms']:8.1f} ms  (n={s['n']})")


def traffic_lines(t: dict[str, Any]) -> list[str]:
    if not t:
        return []
    secs = ", ".join(f"{k} {v:.2f}" for k, v in list(t["seconds"].items())[:6])
    reqs = ", ".join(f"{k} {v}" for k, v in t["requests"].items())
    return [f"  bot while measured: {t['limited_timelines']} limited timelines; requests: {reqs}",
            f"  bot seconds in: {secs}"]


def print_text(figures: dict[str, Any]) -> None:
    env, s, out = figures["environment"], figures["settings"], figures["results"]
    print(f"jourbot alarm burst: Python {env['python']}, matrix-nio {env['matrix_nio']}, Synapse {env['synapse']}"
          f" (SQLite, 127.0.0.1), {env['platform']}\ncode: {env['code']}\nload average (1, 5, 15 min) before"
          f" {env['load_average_before']}, after {env['load_average_after']}: other work on the machine skews figures")
    print(f"settings: {json.dumps(s, ensure_ascii=False)}")
    print(f"set-up {out.get('setup_s')} s, whole run {out.get('total_s')} s; limited /sync timelines at our clients"
          f" after set-up: {out.get('client_limited_timelines') or 'none'} (joining a room, such as a new direct room"
          " from the bot, gives one; the checks below count what arrived)\n")
    if "floor" in out:
        f = out["floor"]
        print(f"1. floor: {f['messages']} encrypted messages, {f['senders']} senders → anna.a, no bot"
              f" ({f['received']} received)")
        print(f"  first send → last received {f['first_send_to_last_received_ms']:.1f} ms;"
              f" last send returned at {f['first_send_to_last_send_returned_ms']:.1f} ms,"
              f" last received {f['last_send_returned_to_last_received_ms']:.1f} ms after it")
    if "ordered_floor" in out:
        f = out["ordered_floor"]
        print(f"1b. ordered floor: the burst's {f['messages']} messages between plain clients, in order per room"
              f" ({f['received']} of the relay's messages to anna.a received)")
        print(f"  officers' last send → the relay's last message at anna.a {f['last_send_to_last_received_ms']:.1f} ms"
              f" (first send → {f['first_send_to_last_received_ms']:.1f} ms);"
              f" relay's send calls median {f['relay_send_call'].get('median_ms')} ms")
    for title, b in (("2. burst, empty store", out.get("burst")),
                     ("4a. burst with history", out.get("history", {}).get("burst"))):
        if not b:
            continue
        r = b["restart_before"]
        print(f"\n{title}: {b['alarms_sent']} !larm from {s['senders']} officers over {b['send_spread_ms']:.0f} ms"
              f" (after a restart: {r['messages_while_down']} messages while down,"
              f" {r['messages_while_starting']} while starting, start → first sync done"
              f" {r['start_to_first_sync_done_ms']:.0f} ms)")
        print(f"  first send → last page at anna.a     {b['first_send_to_last_page_ms']:9.1f} ms"
              f"   (last send → last page {b['last_send_to_last_page_ms']:.1f} ms)")
        print(f"  first send → last 'registrerat'      {b['first_send_to_last_ack_ms']:9.1f} ms"
              f"   (last send → last ack {b['last_send_to_last_ack_ms']:.1f} ms)")
        print(stat_line("per alarm: its send → its page", b["page_latency"]))
        print(stat_line("per alarm: its send → its acknowledgement", b["ack_latency"]))
        print(stat_line("officers' send calls", b["send_call"]))
        c = b["checks"]
        print(f"  checks: {c['alarms_registered']} registered, {c['alarms_paged_exactly_once']} paged exactly once,"
              f" {c['alarms_paged_more_than_once']} more than once, {c['messages_never_paged']} never paged,"
              f" {c['acks_more_than_once']} duplicate acks; others paged {c['others_paged']} →"
              f" {'OK' if c['ok'] else 'NOT OK'}" + ("" if b["complete"] else " (timed out waiting)"))
        if b["send_errors"]:
            print(f"  send errors: {b['send_errors']}")
        for line in traffic_lines(b["bot_traffic"]):
            print(line)
    for title, lat in (("3. escalation lateness, empty store", out.get("lateness")),
                       ("4b. escalation lateness with history", out.get("history", {}).get("lateness"))):
        if not lat:
            continue
        print(f"\n{title}: {lat['alarms_sent']} alarms, first pages spread over"
              f" {lat['first_pages_spread_over_ms']:.0f} ms, step wait {lat['step_wait_s']} s;"
              f" {lat['escalation_pages_received']}/{lat['first_pages_received']} escalations reached bertil.b")
        print(stat_line("at the bot: bertil's page sent − deadline", lat["bot_lateness"]))
        print(stat_line("at the clients: bertil's page − anna's page − step wait", lat["lateness"]))
        print(stat_line("(context) its !larm → anna's page", lat["first_page_latency"]))
        print(stat_line("(context) bertil's page − its !larm − step wait", lat["escalation_after_send_minus_wait"]))
        if lat["lateness"].get("n") and lat["lateness"]["median_ms"] < -50:
            print("  (negative: anna.a's first page was itself late, so bertil.b was paged less than a step wait"
                  " after anna.a could see hers)")
        for line in traffic_lines(lat["bot_traffic"]):
            print(line)
    if "history" in out:
        h = out["history"]["build"]
        print(f"\n4. history built: {h['alarms_raised']} alarms raised, {h['alarms_closed']} closed in"
              f" {h['seconds']} s ({h['alarms_per_second']}/s; by segment: "
              + ", ".join(f"{g['alarms']} {g['alarms_per_second']}/s" for g in h["by_segment"]) + ")")
        for line in traffic_lines(h["bot_traffic"]):
            print(line)
        if "floor" in out["history"]:
            f = out["history"]["floor"]
            print(f"  floor again after the history (no bot; a check on the homeserver and clients):"
                  f" first send → last received {f['first_send_to_last_received_ms']:.1f} ms"
                  f" ({f['received']}/{f['messages']})")
        if "ordered_floor" in out["history"]:
            f = out["history"]["ordered_floor"]
            print(f"  ordered floor again, in the history room: officers' last send → relay's last message at anna.a"
                  f" {f['last_send_to_last_received_ms']:.1f} ms")
    if "flood" in out:
        f = out["flood"]
        print(f"\n6. flood: {f['commands']} commands from someone with no role in {f['sent_in_s']} s"
              f" ({f['send_errors']} refused by the homeserver); the bot answered them {f['answers_to_the_stranger']}"
              f" time(s); a police alarm right after: page {f['page_ms_after_flood']} ms (without a flood:"
              f" {', '.join(str(v) for v in f['page_ms_before'])} ms), acknowledgement {f['ack_ms_after_flood']} ms")
    if "bigroom" in out:
        b = out["bigroom"]
        print(f"\n5. big room: {b['setup']['members']} members (registered, device keys uploaded and joined in"
              f" {b['setup']['register_keys_join_s']} s) vs a 2-member room")
        for key, label in (("small", "small room"), ("big", "big room")):
            print(stat_line(f"{label}: !larm → page at anna.a", b[key]["page"]))
            print(stat_line(f"{label}: !larm → 'registrerat' at the officer", b[key]["ack"]))
        print("  warm-up (not counted): " + "; ".join(f"{w['room']} page {w['page_ms']:.0f} ms, ack {w['ack_ms']:.0f}"
                                                      f" ms" for w in b["warmup"]))
    print_targets([Target(**t) for t in figures["targets"]])

