#!/usr/bin/env node
// A headless Element-stack client (matrix-js-sdk + matrix-sdk-crypto-wasm, the crypto Element Web uses) for
// jourbot's integration tests. It behaves like a current Element: it cross-signs its own device and runs in
// OnlySignedDevicesIsolationMode ("exclude insecure devices"), so it neither shares room keys with nor decrypts
// messages from devices their owner has not cross-signed. It sends one message and waits for a decryptable answer.
//
// Usage (either form):
//   node element_client.mjs '{"homeserver":"http://127.0.0.1:8008","user":"@alice:localhost","password":"...",
//                             "room":"!abc:localhost","message":"!ping","expect_sender":"@bot:localhost","timeout":60}'
//   node element_client.mjs --homeserver URL --user ID --password PW --room ROOM_ID --message TEXT \
//                           --expect-sender ID [--timeout SECONDS] [--undecryptable-grace SECONDS] [--verbose]
// --undecryptable-grace (JSON: "undecryptable_grace"): give up that many seconds after the first undecryptable
// message from the expected sender instead of waiting for the whole timeout (keys can arrive late, so not at once).
// The password may instead come from the environment variable ELEMENT_CLIENT_PASSWORD (keeps it out of `ps`).
//
// Output: exactly one JSON line on stdout, then exit 0 on success, 1 otherwise:
//   {"ok": true, "reply": "...", ...timings}
//   {"ok": false, "error": "...", "undecryptable": n, ...}
// Everything else (SDK logs) goes to stderr.

/* global process */

import { logsToStderr, onlyLocalFetch, polyfillWithResolvers, startSyncing, strictClient } from "./strict.mjs";

const startedAt = Date.now();
const writeStdout = logsToStderr();

let finished = false;
function finish(result) {
    if (finished) return;
    finished = true;
    result.elapsed_ms = Date.now() - startedAt;
    writeStdout(JSON.stringify(result) + "\n", () => process.exit(result.ok ? 0 : 1));
    // Backstop in case the write callback never comes (stdout closed).
    setTimeout(() => process.exit(result.ok ? 0 : 1), 2000).unref();
}

function parseArgs(argv) {
    if (argv.length === 1 && argv[0].trim().startsWith("{")) {
        return JSON.parse(argv[0]);
    }
    const opts = {};
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (arg === "--verbose") {
            opts.verbose = true;
            continue;
        }
        if (!arg.startsWith("--") || i + 1 >= argv.length) throw new Error(`unexpected argument ${arg}`);
        opts[arg.slice(2).replaceAll("-", "_")] = argv[++i];
    }
    return opts;
}

let opts;
try {
    opts = parseArgs(process.argv.slice(2));
    opts.password ??= process.env.ELEMENT_CLIENT_PASSWORD;
    opts.timeout = Number(opts.timeout ?? 60);
    for (const key of ["homeserver", "user", "password", "room", "message", "expect_sender"]) {
        if (!opts[key]) throw new Error(`missing ${key}`);
    }
    if (!(opts.timeout > 0)) throw new Error("timeout must be a positive number of seconds");
    const hs = new URL(opts.homeserver);
    if (hs.hostname !== "127.0.0.1" || !["http:", "https:"].includes(hs.protocol)) {
        throw new Error("homeserver must be http(s)://127.0.0.1:PORT (this test client talks to nothing else)");
    }
} catch (err) {
    finish({ ok: false, error: `bad arguments: ${err.message}`, undecryptable: 0 });
}

if (!finished) {
    // The overall deadline: a test client must never hang a test run.
    setTimeout(() => {
        finish({
            ok: false,
            error: `timeout after ${opts.timeout}s in phase '${state.phase}'`,
            undecryptable: state.undecryptable.size,
            failure_reasons: [...new Set(state.undecryptable.values())],
            sender_devices: state.sender_devices,
            timings: state.timings,
        });
    }, opts.timeout * 1000);
}

const state = { phase: "start", undecryptable: new Map(), timings: {} };
function mark(phase) {
    state.phase = phase;
    state.timings[phase] = Date.now() - startedAt;
}

polyfillWithResolvers();
onlyLocalFetch();

async function main() {
    const { sdk, client, crypto, login } = await strictClient(opts, "jourbot element test client", mark);

    mark("sync");
    await startSyncing(sdk, client, 10);

    mark("join");
    await client.joinRoom(opts.room);
    let room = client.getRoom(opts.room);
    while (!room || room.getMyMembership() !== "join" || !(await crypto.isEncryptionEnabledInRoom(opts.room))) {
        await new Promise((r) => setTimeout(r, 100));
        room = client.getRoom(opts.room);
    }
    // Wait until the expected sender is a joined member and its devices are known: that is when Element would
    // share the room key with it (or deliberately withhold it from an unsigned device).
    mark("key_query");
    for (;;) {
        const member = room.getMember(opts.expect_sender);
        if (member?.membership === "join") {
            const devices = await crypto.getUserDeviceInfo([opts.expect_sender], true);
            if ((devices.get(opts.expect_sender)?.size ?? 0) > 0) break;
        }
        await new Promise((r) => setTimeout(r, 200));
    }
    const botDevices = (await crypto.getUserDeviceInfo([opts.expect_sender])).get(opts.expect_sender);
    state.sender_devices = {};
    for (const deviceId of botDevices.keys()) {
        const status = await crypto.getDeviceVerificationStatus(opts.expect_sender, deviceId);
        state.sender_devices[deviceId] = { cross_signed: Boolean(status?.signedByOwner) };
    }

    const reply = new Promise((resolve) => {
        const consider = (event) => {
            if (event.getRoomId() !== opts.room || event.getSender() !== opts.expect_sender) return;
            if (event.getTs() < state.sentAt - 1000) return; // history from before our message
            if (event.isDecryptionFailure()) {
                state.undecryptable.set(event.getId(), event.decryptionFailureReason ?? "unknown");
                if (opts.undecryptable_grace !== undefined && !state.graceTimer) {
                    // A key may still arrive late; past the grace period the answer counts as lost.
                    state.graceTimer = setTimeout(() => {
                        finish({
                            ok: false,
                            error: `only undecryptable messages from ${opts.expect_sender} within the grace period`,
                            undecryptable: state.undecryptable.size,
                            failure_reasons: [...new Set(state.undecryptable.values())],
                            sender_devices: state.sender_devices,
                            timings: state.timings,
                        });
                    }, Number(opts.undecryptable_grace) * 1000);
                }
                return;
            }
            if (event.isBeingDecrypted() || event.shouldAttemptDecryption()) return; // Decrypted fires later
            if (event.getType() !== "m.room.message") return;
            if (!event.isEncrypted()) return; // only an end-to-end-encrypted answer counts
            state.undecryptable.delete(event.getId()); // a late key turned a failure into a success
            resolve(event.getContent().body);
        };
        client.on(sdk.RoomEvent.Timeline, (event, _room, toStart) => {
            if (!toStart) consider(event);
        });
        client.on(sdk.MatrixEventEvent.Decrypted, (event) => consider(event));
    });

    mark("send");
    state.sentAt = Date.now();
    const sent = await client.sendMessage(opts.room, { msgtype: "m.text", body: opts.message });
    mark("wait_reply");
    const body = await reply;
    mark("replied");
    client.stopClient();
    finish({
        ok: true,
        reply: body,
        undecryptable: state.undecryptable.size,
        user: login.user_id,
        device_id: login.device_id,
        event_id: sent.event_id,
        sender_devices: state.sender_devices,
        timings: state.timings,
    });
}

if (!finished) {
    main().catch((err) => {
        finish({
            ok: false,
            error: `${state.phase}: ${err?.message ?? String(err)}`,
            undecryptable: state.undecryptable.size,
            failure_reasons: [...new Set(state.undecryptable.values())],
            sender_devices: state.sender_devices,
            timings: state.timings,
        });
    });
}
