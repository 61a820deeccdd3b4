// What jourbot's Element-stack test clients share (element_client.mjs, element_person.mjs, push_actions.mjs): a
// Node set up as they need it, and a logged-in client in Element's strictest mode.

/* global process, console */

// The SDK and the wasm crypto log through console.*; stdout is reserved for the clients' JSON lines.
export function logsToStderr() {
    for (const level of ["log", "info", "debug", "warn", "trace"]) {
        console[level] = (...args) => console.error(...args);
    }
    return process.stdout.write.bind(process.stdout);
}

// Node 20 lacks Promise.withResolvers, which matrix-js-sdk 43 uses.
export function polyfillWithResolvers() {
    if (typeof Promise.withResolvers !== "function") {
        Promise.withResolvers = function withResolvers() {
            let resolve;
            let reject;
            const promise = new Promise((res, rej) => {
                resolve = res;
                reject = rej;
            });
            return { promise, resolve, reject };
        };
    }
}

// Refuse any request that is not to the local test homeserver (the SDK may try well-known or other hosts).
export function onlyLocalFetch() {
    const realFetch = globalThis.fetch;
    globalThis.fetch = (input, init) => {
        const url = new URL(typeof input === "string" || input instanceof URL ? input : input.url);
        if (url.hostname !== "127.0.0.1") {
            return Promise.reject(new Error(`refusing to fetch ${url.origin}: only 127.0.0.1 is allowed`));
        }
        return realFetch(input, init);
    };
}

// Logs in as a new device, cross-signs it with a new identity and switches to OnlySignedDevicesIsolationMode
// ("exclude insecure devices"): no room keys for, and nothing decrypted from, a device its owner has not signed.
// `mark(phase)` is told each phase, for the callers' timings.
export async function strictClient(opts, displayName, mark = () => {}) {
    await import("fake-indexeddb/auto");
    const sdk = await import("matrix-js-sdk");
    const { OnlySignedDevicesIsolationMode } = await import("matrix-js-sdk/lib/crypto-api/index.js");
    const { logger } = await import("matrix-js-sdk/lib/logger.js");
    logger.setLevel(opts.verbose ? "debug" : "error");

    mark("login");
    const loginClient = sdk.createClient({ baseUrl: opts.homeserver, fetchFn: globalThis.fetch });
    const login = await loginClient.loginRequest({
        type: "m.login.password",
        identifier: { type: "m.id.user", user: opts.user },
        password: opts.password,
        initial_device_display_name: displayName,
    });
    const client = sdk.createClient({
        baseUrl: opts.homeserver,
        userId: login.user_id,
        deviceId: login.device_id,
        accessToken: login.access_token,
        fetchFn: globalThis.fetch,
    });

    mark("crypto_init");
    await client.initRustCrypto({ useIndexedDB: false });
    const crypto = client.getCrypto();

    mark("bootstrap_cross_signing");
    await crypto.bootstrapCrossSigning({
        setupNewCrossSigning: true,
        authUploadDeviceSigningKeys: async (makeRequest) => {
            try {
                return await makeRequest(null);
            } catch (err) {
                const session = err?.data?.session;
                if (err?.httpStatus !== 401 || !session) throw err;
                return await makeRequest({
                    type: "m.login.password",
                    identifier: { type: "m.id.user", user: opts.user },
                    password: opts.password,
                    session,
                });
            }
        },
    });
    crypto.setDeviceIsolationMode(new OnlySignedDevicesIsolationMode());
    return { sdk, client, crypto, login };
}

// Starts the client's sync loop; returns once its first sync is in (history: `initialSyncLimit` events a room).
export async function startSyncing(sdk, client, initialSyncLimit) {
    const synced = new Promise((resolve, reject) => {
        client.on(sdk.ClientEvent.Sync, (syncState, _prev, data) => {
            if (syncState === "PREPARED" || syncState === "SYNCING") resolve();
            if (syncState === "ERROR") reject(new Error(`sync failed: ${data?.error?.message ?? "unknown"}`));
        });
    });
    await client.startClient({ initialSyncLimit, lazyLoadMembers: false });
    await synced;
}
