#!/usr/bin/env node
// A long-lived Element-stack person (matrix-js-sdk + matrix-sdk-crypto-wasm, as Element Web) for jourbot's
// integration tests: like element_client.mjs it cross-signs its own device and runs in
// OnlySignedDevicesIsolationMode ("exclude insecure devices") — it shares room keys only with devices their owner
// cross-signed and does not decrypt what any other device sent — but it stays up, joins the rooms it is invited to,
// reports what it reads and sends what it is told, so a test can follow a whole alarm across a failover.
//
// Usage: node element_person.mjs '{"homeserver":"http://127.0.0.1:PORT","user":"@anna.a:localhost","lifetime":300}'
// ("accept_invites":false: invitations wait, as a person's do until she taps them, for "join_invited")
// with the password in ELEMENT_CLIENT_PASSWORD (kept out of `ps`).
// stdin, one JSON object a line: {"id":1,"cmd":"create_room","invite":[...]} | {"id":2,"cmd":"send","room":...,
//   "content":{...}} | {"id":3,"cmd":"wait_joined","room":...,"user":...} | {"id":5,"cmd":"join_invited"} (joins
//   every room whose invitation waits, answers their ids once joined) | {"id":4,"cmd":"stop"} (logs the
//   device out: the session's other tests share the account).
// stdout, one JSON object a line: {"type":"ready",...} | {"type":"message",...} | {"type":"undecryptable",...} |
//   {"type":"result","id":1,...} | {"type":"error","id":1,"error":"..."} | {"type":"fatal","error":"..."}.
// Everything else (SDK logs) goes to stderr.

/* global process, console */

import { logsToStderr, onlyLocalFetch, polyfillWithResolvers, startSyncing, strictClient } from "./strict.mjs";

const writeStdout = logsToStderr();
const say = (obj) => writeStdout(JSON.stringify(obj) + "\n");
polyfillWithResolvers();
onlyLocalFetch();

const opts = JSON.parse(process.argv[2] ?? "{}");
opts.password ??= process.env.ELEMENT_CLIENT_PASSWORD;
// A test client must never outlive its test, whatever happens to the test.
setTimeout(() => process.exit(3), Number(opts.lifetime ?? 300) * 1000).unref();

async function main() {
    if (new URL(opts.homeserver).hostname !== "127.0.0.1") throw new Error("homeserver must be on 127.0.0.1");
    const { sdk, client, crypto, login } = await strictClient(opts, "jourbot element test person");

    const startedAt = Date.now();
    const reported = new Set();

    // Which of the sender's devices holds the curve25519 key the room key came from, and whether its owner
    // cross-signed it: what shows that the answer came from the instance acting now, and that it is believed.
    async function senderDevice(event) {
        const key = event.getSenderKey();
        const devices = (await crypto.getUserDeviceInfo([event.getSender()], true)).get(event.getSender());
        for (const [deviceId, device] of devices ?? []) {
            if (device.getIdentityKey() === key) {
                const status = await crypto.getDeviceVerificationStatus(event.getSender(), deviceId);
                return { device: deviceId, cross_signed: Boolean(status?.signedByOwner) };
            }
        }
        return { device: null, cross_signed: false };
    }

    async function consider(event) {
        if (event.getTs() < startedAt - 1000 || reported.has(event.getId())) return;
        if (event.getSender() === login.user_id) return;
        if (event.isBeingDecrypted() || event.shouldAttemptDecryption()) return; // Decrypted fires later
        if (event.isDecryptionFailure()) {
            // Reported, not remembered: a late key may still turn it into a message.
            say({ type: "undecryptable", room: event.getRoomId(), event_id: event.getId(), sender: event.getSender(),
                  reason: event.decryptionFailureReason ?? "unknown" });
            return;
        }
        if (event.getType() !== "m.room.message") return;
        reported.add(event.getId());
        const info = event.isEncrypted() ? await crypto.getEncryptionInfoForEvent(event) : null;
        say({
            type: "message",
            room: event.getRoomId(),
            event_id: event.getId(),
            sender: event.getSender(),
            content: event.getContent(),
            encrypted: event.isEncrypted(),
            shield_reason: info?.shieldReason ?? null,
            ...(event.isEncrypted() ? await senderDevice(event) : { device: null, cross_signed: false }),
            received_ms: Date.now(),
        });
    }
    const safely = (event) => consider(event).catch((err) => console.error("consider:", err));
    client.on(sdk.RoomEvent.Timeline, (event, _room, toStart) => {
        if (!toStart) safely(event);
    });
    client.on(sdk.MatrixEventEvent.Decrypted, safely);
    client.on(sdk.RoomMemberEvent.Membership, (_event, member) => {
        if (member.userId === login.user_id && member.membership === "invite" && opts.accept_invites !== false) {
            client.joinRoom(member.roomId).catch((err) => console.error("join:", err));
        }
    });

    await startSyncing(sdk, client, 1);

    async function waitEncryptedRoom(roomId) {
        for (;;) {
            const room = client.getRoom(roomId);
            if (room?.getMyMembership() === "join" && (await crypto.isEncryptionEnabledInRoom(roomId))) return;
            await new Promise((r) => setTimeout(r, 100));
        }
    }

    const commands = {
        async create_room(cmd) {
            const made = await client.createRoom({
                name: cmd.name ?? "test",
                invite: cmd.invite ?? [],
                initial_state: [
                    { type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } },
                ],
            });
            await waitEncryptedRoom(made.room_id);
            return { room: made.room_id };
        },
        async send(cmd) {
            await waitEncryptedRoom(cmd.room);
            const sent = await client.sendMessage(cmd.room, cmd.content);
            return { event_id: sent.event_id };
        },
        async wait_joined(cmd) {
            while (client.getRoom(cmd.room)?.getMember(cmd.user)?.membership !== "join") {
                await new Promise((r) => setTimeout(r, 100));
            }
            return {};
        },
        async join_invited() {
            const invited = client.getRooms().filter((room) => room.getMyMembership() === "invite").map((r) => r.roomId);
            for (const roomId of invited) {
                await client.joinRoom(roomId);
                await waitEncryptedRoom(roomId);
            }
            return { rooms: invited };
        },
        async stop() {
            client.stopClient();
            await client.logout(true).catch(() => {});
            setTimeout(() => process.exit(0), 100);
            return {};
        },
    };

    let buffered = "";
    process.stdin.setEncoding("utf8");
    process.stdin.on("data", (chunk) => {
        buffered += chunk;
        let newline;
        while ((newline = buffered.indexOf("\n")) >= 0) {
            const cmd = JSON.parse(buffered.slice(0, newline));
            buffered = buffered.slice(newline + 1);
            commands[cmd.cmd](cmd).then(
                (result) => say({ type: "result", id: cmd.id, ...result }),
                (err) => say({ type: "error", id: cmd.id, error: err?.message ?? String(err) }),
            );
        }
    });
    process.stdin.on("end", () => process.exit(0));
    say({ type: "ready", user: login.user_id, device_id: login.device_id });
}

main().catch((err) => {
    say({ type: "fatal", error: err?.message ?? String(err) });
    process.exit(1);
});
