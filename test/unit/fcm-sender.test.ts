import type { Messaging } from "firebase-admin/messaging";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

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

/** The sender's waits, recorded instead of waited. */
const sleeps = vi.hoisted(() => [] as number[]);
vi.mock("node:timers/promises", () => ({
  setTimeout: (ms: number) => {
    sleeps.push(ms);
    return Promise.resolve();
  },
}));

import {
  RETRY,
  type PushPayload,
  type SendReport,
  sendToUser,
} from "../../functions/src/services/fcm/sender";
import {
  type PushMessage,
  createFcmTransport,
  toFcmMessage,
} from "../../functions/src/services/fcm/transport";
import { createRecordingTransport } from "../../tools/fcm/recordingTransport";

const PAYLOAD: PushPayload = {
  title: "세탁 완료!",
  body: "세탁기 3의 세탁이 끝났어요. 빨래를 꺼내 주세요.",
  data: { type: "finished", machineId: "3" },
  link: "https://washcall.example/rooms/1",
  topic: "machine-3",
  ttlSeconds: 3600,
};

const manyTokens = (n: number) => Array.from({ length: n }, (_, i) => `token-${i}`);

function setup(random = 0.5) {
  const transport = createRecordingTransport();
  sleeps.length = 0;
  vi.spyOn(Math, "random").mockReturnValue(random);
  const send = (tokens: string[], uid = "alice"): Promise<SendReport> =>
    sendToUser(transport, uid, tokens, PAYLOAD);
  return { transport, sleeps, send };
}

const tokensOf = (batch: PushMessage[]) => batch.map((m) => m.token);

beforeEach(() => {
  logs.calls.length = 0;
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe("sendToUser: one call for the user's devices", () => {
  it("sends every device of the user once, addressed to the user", async () => {
    const { transport, send } = setup();
    const report = await send(["phone-a", "laptop-a"]);

    expect(transport.calls.map(tokensOf)).toEqual([["phone-a", "laptop-a"]]);
    expect(tokensOf(transport.delivered).sort()).toEqual(["laptop-a", "phone-a"]);
    expect(transport.delivered.every((m) => m.uid === "alice" && m.title === PAYLOAD.title)).toBe(
      true,
    );
    expect(report.sent).toBe(2);
  });

  it("sends nothing and makes no call when the user has no token", async () => {
    const { transport, send } = setup();
    const report = await send([]);
    expect(transport.calls).toHaveLength(0);
    expect(report).toEqual({ sent: 0, failed: 0, deadTokens: [] });
  });
});

describe("sendToUser: retries", () => {
  it("retries a call FCM throttled and ends with everything sent", async () => {
    const { transport, sleeps, send } = setup();
    transport.failCall(0, { code: "messaging/message-rate-exceeded" });

    const report = await send(manyTokens(3));

    expect(transport.calls.map(tokensOf)).toEqual([
      ["token-0", "token-1", "token-2"],
      ["token-0", "token-1", "token-2"],
    ]);
    expect(sleeps).toHaveLength(1);
    expect(report).toMatchObject({ sent: 3, failed: 0 });
  });

  it("waits longer before each retry round, never more than maxDelayMs", async () => {
    const { transport, sleeps, send } = setup();
    for (const call of [0, 1, 2, 3])
      transport.failCall(call, { code: "messaging/too-many-requests" });

    const report = await send(manyTokens(2));

    expect(report.sent).toBe(2);
    expect(sleeps).toHaveLength(4);
    for (let i = 1; i < sleeps.length; i++) expect(sleeps[i]).toBeGreaterThan(sleeps[i - 1]);
    expect(sleeps.every((ms) => ms >= 250 && ms <= RETRY.maxDelayMs)).toBe(true);
  });

  it("keeps jittered delays within [d/2, d] of the capped exponential", async () => {
    for (const r of [0, 0.999]) {
      const { transport, sleeps, send } = setup(r);
      transport.failToken("token-0", { code: "messaging/server-unavailable" });
      await send(manyTokens(1));
      const ceilings = [500, 1000, 2000, 4000];
      expect(sleeps).toHaveLength(RETRY.maxRetries);
      sleeps.forEach((ms, i) => {
        expect(ms).toBeGreaterThanOrEqual(ceilings[i] / 2);
        expect(ms).toBeLessThanOrEqual(ceilings[i]);
      });
    }
  });

  it("retries only the messages that failed with a server error, up to maxRetries, then counts them failed", async () => {
    const { transport, sleeps, send } = setup();
    transport.failToken("token-1", { code: "messaging/internal-error" });

    const report = await send(manyTokens(3));

    expect(transport.calls).toHaveLength(5);
    expect(transport.calls.slice(1).map(tokensOf)).toEqual(Array(4).fill(["token-1"]));
    expect(sleeps).toHaveLength(4);
    expect(report).toEqual({ sent: 2, failed: 1, deadTokens: [] });
  });

  it("does not retry a bad-payload error", async () => {
    const { transport, sleeps, send } = setup();
    transport.failToken("token-0", { code: "messaging/invalid-argument" });

    const report = await send(manyTokens(1));

    expect(transport.calls).toHaveLength(1);
    expect(sleeps).toEqual([]);
    expect(report.failed).toBe(1);
  });
});

describe("sendToUser: dead tokens", () => {
  it("reports the tokens FCM calls unregistered or invalid, not those of a bad payload", async () => {
    const { transport, send } = setup();
    transport
      .failToken("gone", { code: "messaging/registration-token-not-registered" })
      .failToken("garbled", { code: "messaging/invalid-registration-token" })
      .failToken("bad-payload", { code: "messaging/invalid-argument" });

    const report = await send(["gone", "ok-a", "garbled", "bad-payload", "ok-b"]);

    expect(transport.calls).toHaveLength(1);
    expect({ ...report, deadTokens: report.deadTokens.sort() }).toEqual({
      sent: 2,
      failed: 3,
      deadTokens: ["garbled", "gone"],
    });
  });
});

describe("sendToUser: isolation", () => {
  it("counts every message failed when the transport keeps throwing, after maxRetries", async () => {
    const { transport, sleeps, send } = setup();
    transport.throwWhen(() => true, new Error("socket hang up"));

    const report = await send(manyTokens(3));

    expect(transport.calls).toHaveLength(RETRY.maxRetries + 1);
    expect(sleeps).toHaveLength(RETRY.maxRetries);
    expect(report).toEqual({ sent: 0, failed: 3, deadTokens: [] });
  });

  it("retries a call that threw once, like a server error", async () => {
    const { transport, sleeps, send } = setup();
    transport.throwOnCall(0);

    const report = await send(manyTokens(3));

    expect(transport.calls.map((c) => c.length)).toEqual([3, 3]);
    expect(sleeps).toHaveLength(1);
    expect(report).toMatchObject({ sent: 3, failed: 0 });
  });

  it("never writes a token to the logs, even in failures", async () => {
    const { transport, send } = setup();
    transport
      .throwOnCall(0, new Error("request for secret-token-throws failed"))
      .failToken("secret-token-gone", { code: "messaging/registration-token-not-registered" })
      .failToken("secret-token-busy", { code: "messaging/server-unavailable" });

    const report = await send(["secret-token-gone", "secret-token-busy", "secret-token-throws"]);

    expect(report).toMatchObject({ sent: 1, failed: 2, deadTokens: ["secret-token-gone"] });
    expect(logs.calls.length).toBeGreaterThan(0);
    const logged = JSON.stringify(logs.calls);
    expect(logged).not.toMatch(/secret-token/);
    expect(logged).toContain("alice");
  });
});

describe("toFcmMessage", () => {
  const message: PushMessage = { ...PAYLOAD, uid: "alice", token: "tok-1" };

  it("maps to a web push with a visible notification, the room link, Topic and TTL headers and data", () => {
    const fcm = toFcmMessage(message);

    expect(fcm).toMatchObject({
      token: "tok-1",
      data: { type: "finished", machineId: "3", link: "https://washcall.example/rooms/1" },
      webpush: {
        notification: { title: PAYLOAD.title, body: PAYLOAD.body },
        fcmOptions: { link: "https://washcall.example/rooms/1" },
        headers: { TTL: "3600", Topic: "machine-3" },
      },
    });
    expect(fcm.webpush?.headers?.Topic).toMatch(/^[A-Za-z0-9_-]{1,32}$/);
    expect(JSON.stringify(fcm)).not.toContain("alice");
  });

  it("keeps the Topic header valid (32 of [A-Za-z0-9_-]) for a machine document's bad id", () => {
    const topic = (t: string) => toFcmMessage({ ...message, topic: t }).webpush?.headers?.Topic;
    expect(topic("machine-세탁기 3")).toBe("machine-____3");
    expect(topic(`machine-${"9".repeat(40)}`)).toBe(`machine-${"9".repeat(24)}`);
  });

  it("leaves fcmOptions.link out when the link is not HTTPS (FCM would reject it) but keeps it in data", () => {
    const fcm = toFcmMessage({ ...message, link: "http://127.0.0.1:5000/rooms/1" });
    expect(fcm.webpush?.fcmOptions).toBeUndefined();
    expect(fcm.data?.link).toBe("http://127.0.0.1:5000/rooms/1");
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
