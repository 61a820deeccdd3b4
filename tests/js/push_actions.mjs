#!/usr/bin/env node
// What Element would do with a message: matrix-js-sdk's own push rule evaluator (PushProcessor, the code Element Web
// runs on every event it receives) applied to an account's push rules, as GET /_matrix/client/v3/pushrules/ serves
// them, and to decrypted events in rooms of a given membership. Nothing here talks to a server.
//
// Usage: node push_actions.mjs < spec.json     (or the spec as the only argument)
//   {"user_id": "@anna.a:localhost",                      the account whose phone we ask about
//    "rules": {"global": {...}},                          its push rules, as the homeserver serves them
//    "cases": [{"name": "page",
//               "room": {"room_id": "!dm:localhost", "members": {"@anna.a:localhost": "Anna A", "@bot:…": null}},
//               "event": {"type": "m.room.message", "sender": "@bot:…", "event_id": "$…", "content": {…}}}]}
//   members: user id → display name (or null) of everyone joined; the count decides one-to-one rules.
//
// Output: exactly one JSON line on stdout, exit 0:
//   {"ok": true, "results": [{"name": "page", "notify": true, "sound": "default", "highlight": true,
//                             "rule": ".m.rule.is_user_mention"}, ...]}
// or {"ok": false, "error": "..."} and exit 1. SDK logs go to stderr.

/* global process */

import { readFileSync } from "node:fs";

import { logsToStderr, polyfillWithResolvers } from "./strict.mjs";

logsToStderr();
polyfillWithResolvers();

function finish(result) {
    process.stdout.write(JSON.stringify(result) + "\n", () => process.exit(result.ok ? 0 : 1));
}

async function main() {
    const raw = process.argv.length > 2 ? process.argv[2] : readFileSync(0, "utf8");
    const spec = JSON.parse(raw);
    for (const key of ["user_id", "rules", "cases"]) {
        if (spec[key] === undefined) throw new Error(`missing ${key}`);
    }
    const sdk = await import("matrix-js-sdk");
    const client = sdk.createClient({
        baseUrl: "http://127.0.0.1:9",
        userId: spec.user_id,
        store: new sdk.MemoryStore(),
        fetchFn: () => Promise.reject(new Error("push_actions.mjs talks to no server")),
    });
    // As the client does when the rules arrive in a sync: fills in any default rule the server lacks.
    client.setPushRules(spec.rules);
    const results = [];
    for (const item of spec.cases) {
        const roomId = item.room.room_id;
        const room = new sdk.Room(roomId, client, spec.user_id);
        const members = Object.entries(item.room.members).map(
            ([userId, name]) =>
                new sdk.MatrixEvent({
                    type: "m.room.member",
                    state_key: userId,
                    sender: userId,
                    room_id: roomId,
                    event_id: `$member-${userId}`,
                    content: name ? { membership: "join", displayname: name } : { membership: "join" },
                }),
        );
        room.currentState.setStateEvents(members);
        client.store.storeRoom(room);
        const event = new sdk.MatrixEvent({ origin_server_ts: Date.now(), ...item.event, room_id: roomId });
        const { actions, rule } = client.pushProcessor.actionsAndRuleForEvent(event);
        results.push({
            name: item.name,
            notify: Boolean(actions?.notify),
            sound: actions?.tweaks?.sound ?? null,
            highlight: Boolean(actions?.tweaks?.highlight),
            rule: rule?.rule_id ?? null,
            joined: room.currentState.getJoinedMemberCount(),
        });
    }
    finish({ ok: true, results });
}

main().catch((err) => finish({ ok: false, error: String(err?.stack ?? err) }));
