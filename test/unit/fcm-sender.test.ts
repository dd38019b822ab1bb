import fc from "fast-check";
import type { Messaging } from "firebase-admin/messaging";
import { beforeEach, describe, expect, it, vi } from "vitest";

const logs = vi.hoisted(() => ({ calls: [] as unknown[][] }));
vi.mock("firebase-functions/logger", () => {
  const record =
    (level: string) =>
    (...args: unknown[]) => {
      logs.calls.push([level, ...args]);
    };
  return {
    debug: record("debug"),
    info: record("info"),
    log: record("log"),
    warn: record("warn"),
    error: record("error"),
  };
});

import { DAY_MS } from "../../functions/src/domain/time";
import {
  FCM_ERROR,
  type PushMessage,
  type PushPayload,
  type PushRecipient,
  type SendDeps,
  createFcmTransport,
  machineTopic,
  sendToUsers,
  toFcmMessage,
  webpushTopic,
} from "../../functions/src/services/fcm";
import { createRecordingTransport } from "../../tools/fcm/recordingTransport";

const NOW = Date.UTC(2026, 10, 22, 3, 0, 0);

const PAYLOAD: PushPayload = {
  title: "세탁 완료!",
  body: "세탁기 3의 세탁이 끝났어요. 빨래를 꺼내 주세요.",
  data: { type: "finished", machineId: "3" },
  link: "https://washcall.example/rooms/1",
  topic: machineTopic("3"),
  ttlSeconds: 3600,
};

function recipient(uid: string, tokens: string[], refreshedDaysAgo = 1): PushRecipient {
  return {
    uid,
    tokens: tokens.map((token) => ({ token, lastRefreshedAt: NOW - refreshedDaysAgo * DAY_MS })),
  };
}

function manyRecipients(n: number): PushRecipient[] {
  return Array.from({ length: n }, (_, i) => recipient(`user-${i}`, [`token-${i}`]));
}

function setup(overrides: Partial<SendDeps> = {}) {
  const transport = createRecordingTransport();
  const sleeps: number[] = [];
  const deleted: { uid: string; tokens: string[] }[] = [];
  const deps: SendDeps = {
    transport,
    now: () => NOW,
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
    tokenStore: {
      deleteTokens: (uid, tokens) => {
        deleted.push({ uid, tokens: [...tokens].sort() });
        return Promise.resolve();
      },
    },
    random: () => 0.5,
    ...overrides,
  };
  return { transport, sleeps, deleted, deps };
}

const tokensOf = (batch: PushMessage[]) => batch.map((m) => m.token);

beforeEach(() => {
  logs.calls.length = 0;
});

describe("sendToUsers: batching", () => {
  it("sends 600 users' tokens in exactly two batches of 500 and 100", async () => {
    const { transport, deps } = setup();
    const report = await sendToUsers(manyRecipients(600), PAYLOAD, deps);

    expect(transport.calls.map((c) => c.length)).toEqual([500, 100]);
    expect(new Set(transport.calls.flat().map((m) => m.token)).size).toBe(600);
    expect(report).toEqual({ sent: 600, failed: 0, deletedTokens: 0, skippedStale: 0, batches: 2 });
  });

  it("sends every device of a user, and a token shared by two users only once", async () => {
    const { transport, deps } = setup();
    const report = await sendToUsers(
      [recipient("alice", ["phone-a", "laptop-a"]), recipient("bob", ["phone-b", "phone-a"])],
      PAYLOAD,
      deps,
    );

    expect(tokensOf(transport.delivered).sort()).toEqual(["laptop-a", "phone-a", "phone-b"]);
    expect(report.sent).toBe(3);
  });

  it("builds each user's payload from the recipient when given a function", async () => {
    const { transport, deps } = setup();
    const users = [
      { ...recipient("ko-user", ["t-ko"]), locale: "ko" },
      { ...recipient("en-user", ["t-en"]), locale: "en" },
    ];
    await sendToUsers(
      users,
      (r) => ({ ...PAYLOAD, title: r.locale === "en" ? "Wash finished!" : "세탁 완료!" }),
      deps,
    );

    const titles = Object.fromEntries(transport.delivered.map((m) => [m.uid, m.title]));
    expect(titles).toEqual({ "ko-user": "세탁 완료!", "en-user": "Wash finished!" });
  });

  it("sends nothing and makes no call when nobody has a token", async () => {
    const { transport, deps } = setup();
    const report = await sendToUsers([recipient("alice", [])], PAYLOAD, deps);
    expect(transport.calls).toHaveLength(0);
    expect(report).toEqual({ sent: 0, failed: 0, deletedTokens: 0, skippedStale: 0, batches: 0 });
  });

  it("keeps every batch within 500 and accounts for every fresh token", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 400 }),
        async (counts) => {
          const { transport, deps } = setup();
          const users = counts.map((n, u) =>
            recipient(
              `u${u}`,
              Array.from({ length: n }, (_, k) => `t${u}-${k}`),
            ),
          );
          const total = counts.reduce((a, b) => a + b, 0);
          const report = await sendToUsers(users, PAYLOAD, deps);
          expect(transport.calls.every((c) => c.length >= 1 && c.length <= 500)).toBe(true);
          expect(transport.calls).toHaveLength(Math.ceil(total / 500));
          expect(report.sent + report.failed).toBe(total);
        },
      ),
      { numRuns: 30 },
    );
  });
});

describe("sendToUsers: stale tokens", () => {
  it("does not send to a token last refreshed more than 60 days ago", async () => {
    const { transport, deps } = setup();
    const report = await sendToUsers(
      [recipient("alice", ["fresh"], 59), recipient("bob", ["stale"], 61)],
      PAYLOAD,
      deps,
    );

    expect(tokensOf(transport.calls.flat())).toEqual(["fresh"]);
    expect(report.skippedStale).toBe(1);
    expect(report.sent).toBe(1);
  });
});

describe("sendToUsers: retries", () => {
  it("retries a batch FCM throttled (429) and ends with everything sent", async () => {
    const { transport, sleeps, deps } = setup();
    transport.failCall(0, { code: FCM_ERROR.rateExceeded, httpStatus: 429 });

    const report = await sendToUsers(manyRecipients(3), PAYLOAD, deps);

    expect(transport.calls.map(tokensOf)).toEqual([
      ["token-0", "token-1", "token-2"],
      ["token-0", "token-1", "token-2"],
    ]);
    expect(sleeps).toHaveLength(1);
    expect(report).toMatchObject({ sent: 3, failed: 0, batches: 2 });
  });

  it("waits longer before each retry round, never more than maxDelayMs", async () => {
    const { transport, sleeps, deps } = setup({ baseDelayMs: 500, maxDelayMs: 8000 });
    for (const call of [0, 1, 2, 3])
      transport.failCall(call, { code: FCM_ERROR.tooManyRequests, httpStatus: 429 });

    const report = await sendToUsers(manyRecipients(2), PAYLOAD, deps);

    expect(report.sent).toBe(2);
    expect(sleeps).toHaveLength(4);
    for (let i = 1; i < sleeps.length; i++) expect(sleeps[i]).toBeGreaterThan(sleeps[i - 1]);
    expect(sleeps.every((ms) => ms >= 250 && ms <= 8000)).toBe(true);
  });

  it("keeps jittered delays within [d/2, d] of the capped exponential", async () => {
    for (const r of [0, 0.999]) {
      const { transport, sleeps, deps } = setup({
        baseDelayMs: 1000,
        maxDelayMs: 3000,
        random: () => r,
      });
      transport.failToken("token-0", { code: FCM_ERROR.unavailable, httpStatus: 503 });
      await sendToUsers(manyRecipients(1), PAYLOAD, deps);
      const ceilings = [1000, 2000, 3000, 3000];
      sleeps.forEach((ms, i) => {
        expect(ms).toBeGreaterThanOrEqual(ceilings[i] / 2);
        expect(ms).toBeLessThanOrEqual(ceilings[i]);
      });
    }
  });

  it("retries only the messages that failed with a server error, up to maxRetries, then counts them failed", async () => {
    const { transport, sleeps, deps } = setup({ maxRetries: 4 });
    transport.failToken("token-1", { code: FCM_ERROR.internal, httpStatus: 500 });

    const report = await sendToUsers(manyRecipients(3), PAYLOAD, deps);

    expect(transport.calls).toHaveLength(5);
    expect(transport.calls.slice(1).map(tokensOf)).toEqual(Array(4).fill(["token-1"]));
    expect(sleeps).toHaveLength(4);
    expect(report).toEqual({ sent: 2, failed: 1, deletedTokens: 0, skippedStale: 0, batches: 5 });
  });

  it("waits at least the Retry-After the server asked for", async () => {
    const { transport, sleeps, deps } = setup();
    transport.failToken(
      "token-0",
      { code: FCM_ERROR.tooManyRequests, httpStatus: 429, retryAfterMs: 20_000 },
      1,
    );

    const report = await sendToUsers(manyRecipients(1), PAYLOAD, deps);

    expect(sleeps).toEqual([20_000]);
    expect(report.sent).toBe(1);
  });

  it("gives up on a message whose Retry-After exceeds maxRetryAfterMs instead of sending early", async () => {
    const { transport, sleeps, deps } = setup({ maxRetryAfterMs: 30_000 });
    transport.failToken("token-0", { code: FCM_ERROR.tooManyRequests, retryAfterMs: 120_000 });

    const report = await sendToUsers(manyRecipients(2), PAYLOAD, deps);

    expect(sleeps).toEqual([]);
    expect(report).toMatchObject({ sent: 1, failed: 1, batches: 1 });
  });

  it("does not retry a bad-payload error", async () => {
    const { transport, sleeps, deps } = setup();
    transport.failToken("token-0", { code: FCM_ERROR.invalidArgument, httpStatus: 400 });

    const report = await sendToUsers(manyRecipients(1), PAYLOAD, deps);

    expect(transport.calls).toHaveLength(1);
    expect(sleeps).toEqual([]);
    expect(report.failed).toBe(1);
  });
});

describe("sendToUsers: dead tokens", () => {
  it("deletes tokens FCM calls unregistered or invalid and keeps those of a bad payload", async () => {
    const { transport, deleted, deps } = setup();
    transport
      .failToken("gone", { code: FCM_ERROR.tokenNotRegistered, httpStatus: 404 })
      .failToken("garbled", { code: FCM_ERROR.invalidToken, httpStatus: 400 })
      .failToken("bad-payload", { code: FCM_ERROR.invalidArgument, httpStatus: 400 });

    const report = await sendToUsers(
      [recipient("alice", ["gone", "ok-a"]), recipient("bob", ["garbled", "bad-payload", "ok-b"])],
      PAYLOAD,
      deps,
    );

    expect(deleted).toEqual([
      { uid: "alice", tokens: ["gone"] },
      { uid: "bob", tokens: ["garbled"] },
    ]);
    expect(transport.calls).toHaveLength(1);
    expect(report).toEqual({ sent: 2, failed: 3, deletedTokens: 2, skippedStale: 0, batches: 1 });
  });

  it("removes a dead token from every user it was registered to", async () => {
    const { transport, deleted, deps } = setup();
    transport.failToken("shared", { code: FCM_ERROR.tokenNotRegistered });

    await sendToUsers(
      [recipient("alice", ["shared"]), recipient("bob", ["shared"])],
      PAYLOAD,
      deps,
    );

    expect(deleted).toEqual([
      { uid: "alice", tokens: ["shared"] },
      { uid: "bob", tokens: ["shared"] },
    ]);
  });

  it("still cleans up the other users when deleting one user's tokens fails", async () => {
    const { transport, deleted, deps } = setup();
    transport
      .failToken("a", { code: FCM_ERROR.tokenNotRegistered })
      .failToken("b", { code: FCM_ERROR.invalidToken });
    deps.tokenStore = {
      deleteTokens: (uid, tokens) => {
        if (uid === "alice") return Promise.reject(new Error("firestore down"));
        deleted.push({ uid, tokens });
        return Promise.resolve();
      },
    };

    const report = await sendToUsers(
      [recipient("alice", ["a"]), recipient("bob", ["b"])],
      PAYLOAD,
      deps,
    );

    expect(deleted).toEqual([{ uid: "bob", tokens: ["b"] }]);
    expect(report.deletedTokens).toBe(1);
  });
});

describe("sendToUsers: isolation", () => {
  it("sends the other batches when one user's batch keeps throwing", async () => {
    const { transport, deps } = setup({ maxRetries: 2 });
    transport.throwWhen(
      (batch) => batch.some((m) => m.uid === "user-7"),
      new Error("socket hang up"),
    );

    const report = await sendToUsers(manyRecipients(600), PAYLOAD, deps);

    const deliveredUids = new Set(transport.delivered.map((m) => m.uid));
    expect(deliveredUids.size).toBe(100);
    expect(deliveredUids.has("user-599")).toBe(true);
    expect(report).toMatchObject({ sent: 100, failed: 500 });
  });

  it("retries a batch that threw once, like a server error", async () => {
    const { transport, sleeps, deps } = setup();
    transport.throwOnCall(0);

    const report = await sendToUsers(manyRecipients(600), PAYLOAD, deps);

    expect(transport.calls.map((c) => c.length)).toEqual([500, 100, 500]);
    expect(sleeps).toHaveLength(1);
    expect(report).toMatchObject({ sent: 600, failed: 0, batches: 3 });
  });

  it("counts a user whose payload cannot be built as failed and sends the rest", async () => {
    const { transport, deps } = setup();
    const report = await sendToUsers(
      [recipient("alice", ["a1", "a2"]), recipient("bob", ["b1"])],
      (r) => {
        if (r.uid === "alice") throw new Error("no machine name");
        return PAYLOAD;
      },
      deps,
    );
    expect(tokensOf(transport.delivered)).toEqual(["b1"]);
    expect(report).toMatchObject({ sent: 1, failed: 2 });
  });

  it("never writes a token to the logs, even in failures", async () => {
    const { transport, deps } = setup({ maxRetries: 1 });
    transport
      .failToken("secret-token-gone", { code: FCM_ERROR.tokenNotRegistered })
      .failToken("secret-token-busy", { code: FCM_ERROR.unavailable })
      .throwWhen(
        (batch) => batch.some((m) => m.token === "secret-token-throws"),
        new Error("request for secret-token-throws failed"),
      );

    await sendToUsers(
      [
        recipient("alice", ["secret-token-gone", "secret-token-busy"]),
        recipient("bob", ["secret-token-throws"]),
      ],
      PAYLOAD,
      { ...deps, batchSize: 1 },
    );

    expect(logs.calls.length).toBeGreaterThan(0);
    const logged = JSON.stringify(logs.calls);
    expect(logged).not.toMatch(/secret-token/);
    expect(logged).toContain("alice");
  });
});

describe("toFcmMessage", () => {
  const message: PushMessage = { ...PAYLOAD, uid: "alice", token: "tok-1", icon: "/icons/192.png" };

  it("maps to a web push with a visible notification, the room link, Topic and TTL headers and data", () => {
    const fcm = toFcmMessage(message);

    expect(fcm).toMatchObject({
      token: "tok-1",
      data: { type: "finished", machineId: "3", link: "https://washcall.example/rooms/1" },
      webpush: {
        notification: { title: PAYLOAD.title, body: PAYLOAD.body, icon: "/icons/192.png" },
        fcmOptions: { link: "https://washcall.example/rooms/1" },
        headers: { TTL: "3600", Topic: "machine-3" },
      },
    });
    expect(fcm.webpush?.headers?.Topic).toMatch(/^[A-Za-z0-9_-]{1,32}$/);
    expect(JSON.stringify(fcm)).not.toContain("alice");
  });

  it("leaves fcmOptions.link out when the link is not HTTPS (FCM would reject it) but keeps it in data", () => {
    const fcm = toFcmMessage({ ...message, link: "http://127.0.0.1:5000/rooms/1" });
    expect(fcm.webpush?.fcmOptions).toBeUndefined();
    expect(fcm.data?.link).toBe("http://127.0.0.1:5000/rooms/1");
  });

  it("turns any topic into a valid Topic header, keeping distinct long topics distinct", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (topic) => {
        expect(webpushTopic(topic)).toMatch(/^[A-Za-z0-9_-]{0,32}$/);
      }),
    );
    const long = "machine-" + "x".repeat(40);
    expect(webpushTopic(long + "1")).not.toBe(webpushTopic(long + "2"));
    expect(machineTopic("room 1/외부")).toMatch(/^[A-Za-z0-9_-]{1,32}$/);
  });
});

describe("createFcmTransport", () => {
  it("sends one sendEach per batch and maps each response to success or FCM's error code", async () => {
    const sendEach = vi.fn((messages: unknown[]) =>
      Promise.resolve({
        responses: [
          { success: true, messageId: "projects/demo/messages/1" },
          { success: false, error: { code: "messaging/registration-token-not-registered" } },
        ],
        successCount: 1,
        failureCount: messages.length - 1,
      }),
    );
    const transport = createFcmTransport({ sendEach } as unknown as Messaging);
    const batch = [
      { ...PAYLOAD, uid: "a", token: "t1" },
      { ...PAYLOAD, uid: "b", token: "t2" },
    ];

    const results = await transport.sendBatch(batch);

    expect(sendEach).toHaveBeenCalledTimes(1);
    expect(sendEach.mock.calls[0][0]).toEqual(batch.map(toFcmMessage));
    expect(results).toEqual([
      { ok: true, messageId: "projects/demo/messages/1" },
      { ok: false, code: "messaging/registration-token-not-registered" },
    ]);
  });

  it("uses the answers of a failed session instead of failing messages that went out", async () => {
    const pending = Promise.resolve({
      responses: [
        { success: true, messageId: "m1" },
        { success: false, error: { code: "app/network-error" } },
      ],
      successCount: 1,
      failureCount: 1,
    });
    const sessionError = Object.assign(new Error("session closed"), {
      pendingBatchResponse: pending,
    });
    const transport = createFcmTransport({
      sendEach: () => Promise.reject(sessionError),
    } as unknown as Messaging);

    const results = await transport.sendBatch([
      { ...PAYLOAD, uid: "a", token: "t1" },
      { ...PAYLOAD, uid: "b", token: "t2" },
    ]);

    expect(results).toEqual([
      { ok: true, messageId: "m1" },
      { ok: false, code: "app/network-error" },
    ]);
  });

  it("rethrows a whole-call failure so the sender can retry the batch", async () => {
    const transport = createFcmTransport({
      sendEach: () =>
        Promise.reject(
          Object.assign(new Error("no credentials"), { code: "app/invalid-credential" }),
        ),
    } as unknown as Messaging);
    await expect(transport.sendBatch([{ ...PAYLOAD, uid: "a", token: "t1" }])).rejects.toThrow(
      "no credentials",
    );
  });
});
