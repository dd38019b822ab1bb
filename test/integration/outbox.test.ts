/**
 * The transactional outbox: notices (inbox entry + unread count + push document) written with
 * what causes them, and the push trigger's PENDING → PROCESSING → SENT / FAILED state machine.
 * Every effect is delivered three times, concurrently or in shuffled order.
 */
import { Timestamp } from "firebase-admin/firestore";
import { beforeEach, describe, expect, it } from "vitest";
import { DAY_MS } from "../../functions/src/domain/time";
import { joinQueue } from "../../functions/src/store/queue";
import { type Notice, sendNotices } from "../../functions/src/store/notices";
import { saveFcmToken } from "../../functions/src/store/users";
import { handlePushCreated } from "../../functions/src/triggers/onPushCreated";
import {
  type RecordingTransport,
  createRecordingTransport,
} from "../../tools/fcm/recordingTransport";
import {
  applyReportAt,
  deliverPushes,
  invocationAt,
  postUpdate,
  seedDemoWorld,
  testDb,
} from "../support/world";

const START = Date.UTC(2026, 10, 16, 0, 50) / 1000;
const NOW = (START + 2 * 3600) * 1000;
let transport: RecordingTransport;

const notice = (uid: string, id = "notice-1", ttlSeconds = 600): Notice => ({
  uid,
  id,
  type: "test_notice",
  machineId: "3",
  roomId: "1",
  text: (locale) => ({ title: `title-${locale}`, body: `body-${locale}` }),
  extra: { cycleId: "3-1" },
  ttlSeconds,
});
const inbox = async (uid: string) =>
  (await testDb().collection(`users/${uid}/notifications`).get()).docs;
const unread = async (uid: string) =>
  (await testDb().doc(`users/${uid}`).get()).get("unreadCount") as number | undefined;
const push = async (id: string) => (await testDb().doc(`pushes/${id}`).get()).data();
const deliver = (pushId: string, at = NOW) =>
  handlePushCreated({ params: { pushId } }, invocationAt(at), transport);
const shuffled = <T>(xs: T[]) => [...xs].sort(() => Math.random() - 0.5);

async function withTokens(uid: string, ...tokens: string[]) {
  for (const token of tokens)
    await saveFcmToken(testDb(), uid, { token, platform: "web", now: NOW });
}
const refreshedDaysAgo = (uid: string, token: string, days: number) =>
  saveFcmToken(testDb(), uid, { token, platform: "web", now: NOW - days * DAY_MS });

beforeEach(async () => {
  transport = createRecordingTransport();
  await seedDemoWorld();
});

describe("notices", () => {
  it("write the entry in the user's language, one unread count and one PENDING push; a repeat writes nothing", async () => {
    await testDb().doc("users/u-en").set({ locale: "en" });
    for (let i = 0; i < 3; i++) await sendNotices(testDb(), [notice("u-en"), notice("u-ko")], NOW);

    expect((await inbox("u-en")).map((d) => d.data())).toEqual([
      expect.objectContaining({
        title: "title-en",
        body: "body-en",
        type: "test_notice",
        machineId: "3",
        roomId: "1",
        cycleId: "3-1",
        readAt: null,
        read: false,
      }),
    ]);
    expect((await inbox("u-ko"))[0]?.get("title")).toBe("title-ko");
    expect(await unread("u-en")).toBe(1);
    expect(await unread("u-ko")).toBe(1);
    expect(await push("notice-1-u-en")).toMatchObject({
      uid: "u-en",
      notificationId: "notice-1",
      title: "title-en",
      state: "PENDING",
      ttlSeconds: 600,
    });
    expect((await testDb().collection("pushes").get()).size).toBe(2);
  });

  it("three concurrent writers of the same notices make one entry, one count and one push each", async () => {
    const items = [notice("u1"), notice("u2"), notice("u1", "notice-2")];
    await Promise.all([0, 1, 2].map(() => sendNotices(testDb(), shuffled(items), NOW)));
    expect((await inbox("u1")).map((d) => d.id).sort()).toEqual(["notice-1", "notice-2"]);
    expect(await unread("u1")).toBe(2);
    expect(await unread("u2")).toBe(1);
    expect((await testDb().collection("pushes").get()).size).toBe(3);
  });
});

describe("the push trigger", () => {
  it("sends once to every device of the user however often and concurrently it is delivered", async () => {
    await withTokens("u1", "tok-phone", "tok-laptop");
    await sendNotices(testDb(), [notice("u1")], NOW);
    const outcomes = await Promise.all([0, 1, 2].map(() => deliver("notice-1-u1")));

    expect(outcomes.filter((o) => o.outcome === "sent")).toHaveLength(1);
    expect(transport.delivered.map((m) => m.token).sort()).toEqual(["tok-laptop", "tok-phone"]);
    expect(transport.delivered[0]).toMatchObject({
      title: "title-ko",
      data: { notificationId: "notice-1", machineId: "3", roomId: "1", type: "test_notice" },
      link: expect.stringMatching(/\/rooms\/1\/machines\/3$/),
      topic: "machine-3",
    });
    expect(await push("notice-1-u1")).toMatchObject({ state: "SENT", attempts: 1, sent: 2 });
    expect((await deliver("notice-1-u1")).outcome).toBe("skipped");
    expect(transport.delivered).toHaveLength(2);
  });

  it("pushes delivered three times each in shuffled order are each sent exactly once", async () => {
    await withTokens("u1", "tok-1");
    await withTokens("u2", "tok-2");
    await sendNotices(testDb(), [notice("u1"), notice("u2"), notice("u1", "notice-2")], NOW);
    const ids = ["notice-1-u1", "notice-1-u2", "notice-2-u1"];
    for (const id of shuffled([...ids, ...ids, ...ids])) await deliver(id);
    expect(transport.delivered.map((m) => `${m.data?.notificationId} ${m.token}`).sort()).toEqual([
      "notice-1 tok-1",
      "notice-1 tok-2",
      "notice-2 tok-1",
    ]);
  });

  it("a push whose sender died mid-send (lease run out) is marked FAILED, never sent again", async () => {
    await withTokens("u1", "tok-1");
    await sendNotices(testDb(), [notice("u1")], NOW);
    await testDb()
      .doc("pushes/notice-1-u1")
      .update({ state: "PROCESSING", leaseExpireAt: Timestamp.fromMillis(NOW + 60_000) });
    expect(await deliver("notice-1-u1", NOW)).toEqual({ outcome: "skipped", reason: "held" });
    expect(await deliver("notice-1-u1", NOW + 120_000)).toEqual({
      outcome: "skipped",
      reason: "lease-expired",
    });
    expect(await push("notice-1-u1")).toMatchObject({ state: "FAILED", error: "lease-expired" });
    expect(transport.delivered).toEqual([]);
  });

  it("a push past its time to live is not sent late; a user without devices is FAILED no-devices", async () => {
    await withTokens("u1", "tok-1");
    await sendNotices(testDb(), [notice("u1", "short", 60), notice("nobody")], NOW);
    expect((await deliver("short-u1", NOW + 61_000)).outcome).toBe("skipped");
    expect(await push("short-u1")).toMatchObject({ state: "FAILED", error: "expired" });
    expect(await deliver("notice-1-nobody")).toMatchObject({ outcome: "failed", sent: 0 });
    expect(await push("notice-1-nobody")).toMatchObject({ state: "FAILED", error: "no-devices" });
    expect(transport.delivered).toEqual([]);
  });

  it("the time to live sent is what is left of the notice's, and a dead token is removed", async () => {
    await withTokens("u1", "tok-dead", "tok-ok");
    transport.failToken("tok-dead", { code: "messaging/registration-token-not-registered" });
    await sendNotices(testDb(), [notice("u1")], NOW);
    await deliver("notice-1-u1", NOW + 100_000);
    expect(transport.delivered.map((m) => [m.token, m.ttlSeconds])).toEqual([["tok-ok", 500]]);
    const tokens = await testDb().collection("users/u1/tokens").get();
    expect(tokens.docs.map((d) => d.get("token") as string)).toEqual(["tok-ok"]);
  });

  it("does not send to a token last refreshed more than 60 days ago", async () => {
    await refreshedDaysAgo("u1", "tok-fresh", 59);
    await refreshedDaysAgo("u1", "tok-stale", 61);
    await sendNotices(testDb(), [notice("u1")], NOW);
    expect(await deliver("notice-1-u1")).toEqual({ outcome: "sent", sent: 1, failed: 0 });
    expect(transport.calls.flat().map((m) => m.token)).toEqual(["tok-fresh"]);
  });
});

describe("the report trigger's transaction", () => {
  it("a FINISHED that frees a machine offers it to the head of the queue with its notice in the same commit, once however often each report is redelivered", async () => {
    const clock = NOW;
    await joinQueue(testDb(), "waiter", "1", clock - 60_000);
    await withTokens("waiter", "tok-w");
    const ids: string[] = [];
    for (const [i, [status, ts]] of (
      [
        ["WASHING", START],
        ["SPINNING", START + 30 * 60],
        ["FINISHED", START + 40 * 60],
      ] as const
    ).entries()) {
      ids.push(await postUpdate(clock + i * 1500, 3, status, ts));
      await applyReportAt(clock + i * 1500 + 500, 3, ids[i] ?? "");
    }
    expect(await inbox("waiter")).toHaveLength(1);
    for (const id of shuffled([...ids, ...ids])) await applyReportAt(clock + 6000, 3, id);
    await deliverPushes(transport, clock + 5000);

    const queue = (await testDb().doc("queues/1").get()).get("entries") as {
      uid: string;
      offer?: { machineId: string };
    }[];
    expect(queue).toEqual([
      expect.objectContaining({
        uid: "waiter",
        offer: expect.objectContaining({ machineId: "3" }),
      }),
    ]);
    const entries = await inbox("waiter");
    expect(entries.map((d) => d.get("type") as string)).toEqual(["queue_offer"]);
    expect(await unread("waiter")).toBe(1);
    expect(transport.delivered.map((m) => m.token)).toEqual(["tok-w"]);
  });
});
