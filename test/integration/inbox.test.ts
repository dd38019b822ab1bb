import { Timestamp } from "firebase-admin/firestore";
import { beforeEach, describe, expect, it } from "vitest";
import { runHandler } from "../../functions/src/http/adapter";
import { createDeviceHandler } from "../../functions/src/http/deviceHandler";
import { createDeviceState } from "../../functions/src/http/deviceState";
import { FCM_ERROR, type PushTransport } from "../../functions/src/services/fcm";
import {
  type RecordingTransport,
  createRecordingTransport,
} from "../../tools/fcm/recordingTransport";
import { applyReport } from "../../functions/src/store/applyReport";
import { settleMachineEffects, settleStaleEffects } from "../../functions/src/store/effects";
import {
  type InboxDeps,
  type InboxItem,
  PUSH_GRACE_MS,
  deliverInbox,
  resendOwedPushes,
  writeInboxEntries,
} from "../../functions/src/store/inbox";
import { notifyFinished, setWatch } from "../../functions/src/store/notifications";
import { joinQueue, readQueue } from "../../functions/src/store/queue";
import {
  type TickNotification,
  deliverTickNotifications,
} from "../../functions/src/scheduled/tick/inbox";
import { newCounters } from "../../functions/src/scheduled/tick/base";
import { saveFcmToken } from "../../functions/src/store/users";
import { TEST_MASTER_KEY, dumpDb, jsonRequest, seedDemoWorld, testDb } from "../support/world";

/** This test's device-function instance memory (rate buckets, machine cache). */
let deviceState = createDeviceState();

const START = Date.UTC(2026, 10, 16, 0, 50) / 1000;
const NOW = (START + 2 * 3600) * 1000;
const MIN = 60_000;
let clock = NOW;
let transport: RecordingTransport;

/** The recording transport, answering each batch only after `ms` (a sender still at work). */
const slow = (t: RecordingTransport, ms = 300): PushTransport => ({
  sendBatch: async (messages) => {
    await new Promise((r) => setTimeout(r, ms));
    return t.sendBatch(messages);
  },
});
/** A sender that dies mid-push: FCM answers 503 to the first batch and the retry's wait throws. */
const crashing = () => {
  transport.failCall(transport.calls.length, { code: FCM_ERROR.unavailable });
  return () => Promise.reject(new Error("instance died"));
};
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

const deps = (over: Partial<InboxDeps> = {}): InboxDeps => ({
  db: testDb(),
  now: () => clock,
  transport,
  appUrl: "https://app.test",
  sleep: () => Promise.resolve(),
  ...over,
});
const item = (uid: string, id = "notice-1"): InboxItem => ({
  uid,
  notificationId: id,
  type: "test_notice",
  machineId: "3",
  roomId: "1",
  text: (locale) => ({ title: `title-${locale}`, body: `body-${locale}` }),
  extra: { cycleId: "3-1" },
  ttlSeconds: 600,
});
const tokensOf = (uid: string) =>
  transport.delivered.filter((m) => m.uid === uid).map((m) => m.token);
const inbox = async (uid: string) =>
  (await testDb().collection(`users/${uid}/notifications`).get()).docs;
const unread = async (uid: string) =>
  (await testDb().doc(`users/${uid}`).get()).get("unreadCount") as number | undefined;

async function withTokens(uid: string, ...tokens: string[]) {
  for (const token of tokens) {
    await saveFcmToken(testDb(), uid, { token, platform: "web", now: NOW });
  }
}

/** A device report stored and applied, but not settled (as if every delivery died after apply). */
async function applied(machineId: number, status: string, timestamp: number) {
  clock += 1500;
  const res = await runHandler(
    "device",
    createDeviceHandler({
      db: testDb(),
      masterKey: TEST_MASTER_KEY,
      now: () => clock,
      state: deviceState,
    }),
    jsonRequest("POST", "/update", {
      machine_id: machineId,
      secret_key: `demo-secret-${machineId}`,
      status,
      timestamp,
    }),
  );
  expect(res.status).toBe(200);
  await applyReport(testDb(), String(machineId), `${timestamp}-${status}`, () => clock);
}

beforeEach(async () => {
  deviceState = createDeviceState();
  clock = NOW;
  transport = createRecordingTransport();
  await seedDemoWorld();
});

describe("the inbox deliverer", () => {
  it("writes the entry with its fields, one unread count and one push per token, and a repeat writes nothing", async () => {
    await withTokens("u1", "tok-1a", "tok-1b");
    const first = await deliverInbox(deps(), [item("u1"), item("u1")]);
    expect(first).toEqual({ created: 1, alreadyDone: 0, recovered: 0, pushed: 2, pushFailed: 0 });
    const [entry] = await inbox("u1");
    expect(entry?.id).toBe("notice-1");
    expect(entry?.data()).toMatchObject({
      title: "title-ko",
      body: "body-ko",
      type: "test_notice",
      machineId: "3",
      roomId: "1",
      cycleId: "3-1",
      readAt: null,
      read: false,
    });
    expect(await unread("u1")).toBe(1);
    expect(tokensOf("u1").sort()).toEqual(["tok-1a", "tok-1b"]);
    expect(transport.delivered[0]).toMatchObject({
      data: { notificationId: "notice-1", machineId: "3", roomId: "1", type: "test_notice" },
      topic: "machine-3",
      ttlSeconds: 600,
    });

    const before = await dumpDb();
    clock += 10 * MIN;
    expect(await deliverInbox(deps(), [item("u1")])).toMatchObject({ created: 0, alreadyDone: 1 });
    expect(await dumpDb()).toEqual(before);
    expect(transport.delivered.length).toBe(2);
  });

  it("a run that starts while another is still sending neither writes nor pushes again", async () => {
    await withTokens("u1", "tok-1");
    await withTokens("u2", "tok-2");
    const items = [item("u1"), item("u2")];
    const [a, b] = await Promise.all([
      deliverInbox(deps({ transport: slow(transport) }), items),
      wait(100).then(() => deliverInbox(deps({ transport: slow(transport) }), items)),
    ]);
    expect(a.created + b.created).toBe(2);
    expect(a.pushed + b.pushed).toBe(2);
    expect(tokensOf("u1")).toEqual(["tok-1"]);
    expect(tokensOf("u2")).toEqual(["tok-2"]);
    expect(await unread("u1")).toBe(1);
  });

  it("a push cut short after the entry was written is sent once by a later run past the grace period", async () => {
    await withTokens("u1", "tok-1");
    await expect(deliverInbox(deps({ sleep: crashing() }), [item("u1")])).rejects.toThrow(
      "instance died",
    );
    expect((await inbox("u1")).length).toBe(1);
    expect(tokensOf("u1")).toEqual([]);

    // Within the grace period the sender may still be at work: nothing.
    clock += PUSH_GRACE_MS - 1;
    expect(await deliverInbox(deps(), [item("u1")])).toMatchObject({ recovered: 0, pushed: 0 });
    // Past it, two runs at once: one of them sends it, once.
    clock += 1;
    const [a, b] = await Promise.all([
      deliverInbox(deps({ transport: slow(transport) }), [item("u1")]),
      deliverInbox(deps({ transport: slow(transport) }), [item("u1")]),
    ]);
    expect(a.recovered + b.recovered).toBe(1);
    expect(tokensOf("u1")).toEqual(["tok-1"]);
    clock += 10 * MIN;
    expect(await deliverInbox(deps(), [item("u1")])).toMatchObject({ recovered: 0, pushed: 0 });
    expect(tokensOf("u1")).toEqual(["tok-1"]);
    expect(await unread("u1")).toBe(1);
  });

  it("the first phase alone (a crash before any push) leaves pushes the sweep sends once, with the stored text", async () => {
    await withTokens("u1", "tok-1");
    await saveFcmToken(testDb(), "u2", { token: "tok-2", platform: "web", locale: "en", now: NOW });
    await writeInboxEntries(deps(), [item("u1"), item("u2", "notice-2")]);
    expect(transport.delivered).toEqual([]);

    expect(await resendOwedPushes(deps())).toMatchObject({ resent: 0 });
    clock += PUSH_GRACE_MS;
    expect(await resendOwedPushes(deps())).toMatchObject({ resent: 2, pushed: 2 });
    expect(transport.delivered.map((m) => [m.token, m.title, m.data?.notificationId])).toEqual(
      expect.arrayContaining([
        ["tok-1", "title-ko", "notice-1"],
        ["tok-2", "title-en", "notice-2"],
      ]),
    );
    clock += MIN;
    expect(await resendOwedPushes(deps())).toMatchObject({ resent: 0 });
    expect(await deliverInbox(deps(), [item("u1")])).toMatchObject({ recovered: 0 });
    expect(transport.delivered.length).toBe(2);
  });

  it("the sweep drops a push whose time to live is over instead of sending it late", async () => {
    await withTokens("u1", "tok-1");
    await writeInboxEntries(deps(), [{ ...item("u1"), ttlSeconds: 60 }]);
    clock += PUSH_GRACE_MS;
    expect(await resendOwedPushes(deps())).toMatchObject({ resent: 0, dropped: 1 });
    expect(await resendOwedPushes(deps())).toMatchObject({ resent: 0, dropped: 0 });
    expect(transport.delivered).toEqual([]);
  });

  it("a marker from before sentAt was recorded (no pending flag) is never read as an owed push", async () => {
    await withTokens("u1", "tok-1");
    await testDb().doc("users/u1/notifications/notice-1").set({ title: "old", read: false });
    await testDb()
      .doc("idempotency/push-notice-1-u1")
      .set({ kind: "push", uid: "u1", createdAt: Timestamp.fromMillis(NOW - 60 * MIN) });
    expect(await deliverInbox(deps(), [item("u1")])).toMatchObject({
      alreadyDone: 1,
      recovered: 0,
    });
    expect(await resendOwedPushes(deps())).toMatchObject({ resent: 0 });
    expect(transport.delivered).toEqual([]);
  });

  it("tick notices recover the same way: a tick that died mid-push is made good once by a later one", async () => {
    await withTokens("admin-1", "tok-admin");
    const notice: TickNotification = {
      key: "offline-3-1",
      uid: "admin-1",
      type: "machine_offline",
      machineId: "3",
      roomId: "1",
      text: () => ({ title: "offline", body: "machine 3" }),
      ttlSeconds: 3600,
    };
    const tickDeps = (sleep?: () => Promise<void>) => ({
      db: testDb(),
      now: clock,
      transport,
      appUrl: "https://app.test",
      counters: newCounters(),
      sleep: sleep ?? (() => Promise.resolve()),
    });
    await expect(deliverTickNotifications(tickDeps(crashing()), [notice])).rejects.toThrow();
    clock += MIN;
    expect(await deliverTickNotifications(tickDeps(), [notice])).toMatchObject({ recovered: 0 });
    clock += MIN;
    expect(await deliverTickNotifications(tickDeps(), [notice])).toMatchObject({ recovered: 1 });
    clock += MIN;
    expect(await deliverTickNotifications(tickDeps(), [notice])).toMatchObject({ recovered: 0 });
    expect(tokensOf("admin-1")).toEqual(["tok-admin"]);
    expect((await inbox("admin-1")).map((d) => d.id)).toEqual(["offline-3-1"]);
  });
});

describe("overlapping settlement", () => {
  it("two concurrent notifyFinished runs with a slow transport: one entry, one push per token", async () => {
    await setWatch(testDb(), "w1", "2", true, NOW);
    await withTokens("w1", "tok-phone", "tok-laptop");
    const notify = { db: testDb(), now: () => clock, transport: slow(transport), appUrl: "x" };
    const ev = { machineId: "2", roomId: "1", type: "washer" as const, cycleId: "2-777" };
    const [a, b] = await Promise.all([
      notifyFinished(notify, ev),
      wait(100).then(() => notifyFinished(notify, ev)),
    ]);
    expect(a.notified + b.notified).toBe(1);
    expect(tokensOf("w1").sort()).toEqual(["tok-laptop", "tok-phone"]);
    expect((await inbox("w1")).length).toBe(1);
    expect(await unread("w1")).toBe(1);
  });

  it("two concurrent settlements of a machine's effects announce once and offer the machine once", async () => {
    await setWatch(testDb(), "w1", "1", true, NOW);
    await withTokens("w1", "tok-w1");
    await joinQueue(testDb(), "q1", "1", NOW);
    await withTokens("q1", "tok-q1");
    await applied(1, "WASHING", START);
    await applied(1, "SPINNING", START + 1800);
    await applied(1, "FINISHED", START + 2400);
    const settle = () =>
      settleMachineEffects(testDb(), "1", {
        notify: { db: testDb(), now: () => clock, transport: slow(transport), appUrl: "x" },
        claimWindowMinutes: 10,
      });

    const [a, b] = await Promise.all([settle(), wait(50).then(settle)]);

    expect([...a.settled, ...b.settled].sort()).toEqual(
      [`1-${START}-WASHING`, `1-${START + 2400}-FINISHED`].sort(),
    );
    expect(a.held.length + b.held.length).toBeGreaterThan(0);
    expect(tokensOf("w1")).toEqual(["tok-w1"]);
    expect(tokensOf("q1")).toEqual(["tok-q1"]);
    expect((await inbox("w1")).length).toBe(1);
    expect((await inbox("q1")).length).toBe(1);
    expect((await readQueue(testDb(), "1")).entries).toEqual([
      expect.objectContaining({ uid: "q1", offer: expect.objectContaining({ machineId: "1" }) }),
    ]);
    const pending = await testDb()
      .collection("machineEffects")
      .where("state", "==", "PENDING")
      .get();
    expect(pending.size).toBe(0);
  });

  it("an effect whose settling run died is taken over by the tick once its lease expired", async () => {
    await setWatch(testDb(), "w1", "1", true, NOW);
    await withTokens("w1", "tok-w1");
    await applied(1, "WASHING", START);
    await applied(1, "SPINNING", START + 1800);
    await applied(1, "FINISHED", START + 2400);
    const settleDeps = (sleep?: () => Promise<void>) => ({
      notify: {
        db: testDb(),
        now: () => clock,
        transport,
        appUrl: "x",
        ...(sleep ? { sleep } : {}),
      },
      claimWindowMinutes: 10,
    });
    await expect(settleMachineEffects(testDb(), "1", settleDeps(crashing()))).rejects.toThrow();
    expect((await inbox("w1")).length).toBe(1);
    // The watch stays until its owner's push went out.
    expect((await testDb().doc("machines/1/watchers/w1").get()).exists).toBe(true);

    clock += 3 * MIN;
    expect((await settleStaleEffects(testDb(), settleDeps())).sort()).toEqual(
      [`1-${START + 2400}-FINISHED`].sort(),
    );
    expect(tokensOf("w1")).toEqual(["tok-w1"]);
    expect((await testDb().doc("machines/1/watchers/w1").get()).exists).toBe(false);
    clock += 3 * MIN;
    expect(await settleStaleEffects(testDb(), settleDeps())).toEqual([]);
    expect(tokensOf("w1")).toEqual(["tok-w1"]);
  });
});
