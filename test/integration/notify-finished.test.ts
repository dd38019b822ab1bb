import { getAuth } from "firebase-admin/auth";
import { beforeEach, describe, expect, it } from "vitest";
import { runHandler } from "../../functions/src/http/adapter";
import { createApiHandler } from "../../functions/src/http/apiHandler";
import { FCM_ERROR } from "../../functions/src/services/fcm";
import { createRecordingTransport } from "../../tools/fcm/recordingTransport";
import { createOutboxTransport } from "../../functions/src/services/fcm/outboxTransport";
import { applyReport } from "../../functions/src/store/applyReport";
import { settleMachineEffects } from "../../functions/src/store/effects";
import { notifyFinished } from "../../functions/src/store/notifications";
import { tokenId } from "../../functions/src/store/users";
import { handleReportCreated } from "../../functions/src/triggers/onReportCreated";
import { type TestUser, bearer, signUpUser } from "../support/auth";
import { jsonRequest, postUpdate, seedDemoWorld, testDb } from "../support/world";

const START = Date.UTC(2026, 10, 16, 0, 50) / 1000;
const NOW = (START + 48 * 3600) * 1000;
let clock = NOW;

const api = () =>
  createApiHandler({ db: testDb(), auth: getAuth(), now: () => clock, version: "test" });

async function call(user: TestUser, path: string, body: unknown) {
  const res = await runHandler("api", api(), jsonRequest("POST", path, body, bearer(user)));
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

async function post(machineId: number, status: string, timestamp: number) {
  clock += 1500;
  return postUpdate(clock, machineId, status, timestamp);
}

/** A full cycle on the machine (washer: WASHING → SPINNING → FINISHED; dryer: DRYING → FINISHED), every report delivered `times` times. */
async function runCycle(
  machineId: number,
  times = 1,
  opts: Parameters<typeof handleReportCreated>[2] = {},
) {
  const steps: [string, number][] =
    machineId >= 5
      ? [
          ["DRYING", START],
          ["FINISHED", START + 40 * 60],
        ]
      : [
          ["WASHING", START],
          ["SPINNING", START + 30 * 60],
          ["FINISHED", START + 40 * 60],
        ];
  const ids: string[] = [];
  for (const [status, ts] of steps) ids.push(await post(machineId, status, ts));
  for (let i = 0; i < times; i++) {
    for (const id of ids) {
      await handleReportCreated(
        { params: { machineId: String(machineId), reportId: id } },
        () => clock,
        opts,
      );
    }
  }
  return `${machineId}-${START + 40 * 60}`;
}

const inbox = async (uid: string) =>
  (await testDb().collection(`users/${uid}/notifications`).get()).docs;
const unread = async (uid: string) =>
  (await testDb().doc(`users/${uid}`).get()).get("unreadCount") as number | undefined;
const outboxFor = async (uid: string) =>
  (await testDb().collection("outbox").where("uid", "==", uid).get()).docs.map(
    (d) => d.data() as { token: string; title: string; body: string },
  );
const watchers = async (machineId: string) =>
  (await testDb().collection(`machines/${machineId}/watchers`).get()).size;

beforeEach(async () => {
  clock = NOW;
  await seedDemoWorld();
});

describe("FINISHED notifications", () => {
  it("a watcher of machine 2 gets exactly one inbox entry and one push per token, however often the trigger runs, and the watch is gone", async () => {
    const a = await signUpUser("watcher");
    await call(a, "/notify_me", { machine_id: 2, isusing: 1 });
    await call(a, "/set_fcm_token", { fcm_token: "tok-a-phone" });
    await call(a, "/set_fcm_token", { fcm_token: "tok-a-laptop", platform: "web" });
    expect(await watchers("2")).toBe(1);

    const cycleId = await runCycle(2, 3);

    const entries = await inbox(a.uid);
    expect(entries.map((d) => d.id)).toEqual([`finished-${cycleId}`]);
    expect(entries[0].data()).toMatchObject({
      title: "세탁 완료!",
      type: "finished",
      machineId: "2",
      roomId: "1",
      readAt: null,
    });
    expect(await unread(a.uid)).toBe(1);
    const pushes = await outboxFor(a.uid);
    expect(pushes.map((p) => p.token).sort()).toEqual(["tok-a-laptop", "tok-a-phone"]);
    expect(pushes[0]).toMatchObject({
      title: "세탁 완료!",
      topic: "machine-2",
      link: expect.stringMatching(/\/rooms\/1\/machines\/2$/),
      ttlSeconds: expect.any(Number),
      tokenHash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(await watchers("2")).toBe(0);
  });

  it("replaying the fan-out itself for the same cycle never doubles an entry, a count or a push", async () => {
    const a = await signUpUser("replay");
    await call(a, "/notify_me", { machine_id: 2, isusing: 1 });
    await call(a, "/set_fcm_token", { fcm_token: "tok-replay" });
    const deps = {
      db: testDb(),
      now: () => clock,
      transport: createOutboxTransport(testDb()),
      appUrl: "https://x.test",
    };
    const ev = { machineId: "2", roomId: "1", type: "washer" as const, cycleId: "2-123" };
    const first = await notifyFinished(deps, ev);
    expect(first).toMatchObject({ notified: 1, pushed: 1, watchesCleared: 1 });
    // The watch is gone now, but the user also subscribed to the room meanwhile: still no second one.
    await call(a, "/device_subscribe", { room_id: 1 });
    for (let i = 0; i < 3; i++)
      expect(await notifyFinished(deps, ev)).toMatchObject({
        notified: 0,
        alreadyDone: 1,
        pushed: 0,
      });
    expect((await inbox(a.uid)).length).toBe(1);
    expect(await unread(a.uid)).toBe(1);
    expect((await outboxFor(a.uid)).length).toBe(1);
  });

  it("a room subscriber who also watches gets one watcher notification, a mere subscriber gets the room wording in their locale", async () => {
    const both = await signUpUser("both");
    await call(both, "/notify_me", { machine_id: 2, isusing: 1 });
    await call(both, "/device_subscribe", { room_id: "1" });
    await call(both, "/set_fcm_token", { fcm_token: "tok-both" });
    const sub = await signUpUser("sub");
    await call(sub, "/device_subscribe", { room_id: 1 });
    await call(sub, "/set_fcm_token", { fcm_token: "tok-sub", locale: "en" });
    const off = await signUpUser("unsubscribed");
    await call(off, "/device_subscribe", { room_id: 1 });
    await call(off, "/device_subscribe", { room_id: 1, isusing: 0 });
    await call(off, "/set_fcm_token", { fcm_token: "tok-off" });

    await runCycle(2, 3);

    expect((await inbox(both.uid)).map((d) => d.get("type") as string)).toEqual(["finished"]);
    expect(await unread(both.uid)).toBe(1);
    expect((await outboxFor(both.uid)).length).toBe(1);
    const subEntries = await inbox(sub.uid);
    expect(subEntries.map((d) => d.data())).toEqual([
      expect.objectContaining({
        type: "room_finished",
        title: expect.stringMatching(/: wash finished$/),
        body: expect.stringContaining("will be free soon"),
      }),
    ]);
    expect((await outboxFor(sub.uid)).map((p) => p.body)).toEqual([
      subEntries[0]?.get("body") as string,
    ]);
    expect(await inbox(off.uid)).toEqual([]);
    expect(await outboxFor(off.uid)).toEqual([]);
    // The room subscription is persistent; the watch was one-shot.
    expect((await testDb().doc(`rooms/1/subscribers/${both.uid}`).get()).exists).toBe(true);
    expect(await watchers("2")).toBe(0);
  });

  it("a dryer's watcher gets the drying wording", async () => {
    const a = await signUpUser("dryer");
    await call(a, "/notify_me", { machine_id: 5, isusing: 1 });
    await runCycle(5);
    const [entry] = await inbox(a.uid);
    expect(entry?.data()).toMatchObject({ title: "건조 완료!", machineId: "5" });
  });

  it("a watch turned off again (isusing 0) gets nothing", async () => {
    const a = await signUpUser("changed-mind");
    await call(a, "/notify_me", { machine_id: 2, isusing: 1 });
    await call(a, "/notify_me", { machine_id: 2, isusing: 0 });
    await runCycle(2);
    expect(await inbox(a.uid)).toEqual([]);
  });

  it("deletes the token doc of a token FCM calls unregistered and keeps the others", async () => {
    const a = await signUpUser("dead-token");
    await call(a, "/notify_me", { machine_id: 2, isusing: 1 });
    await call(a, "/set_fcm_token", { fcm_token: "tok-dead" });
    await call(a, "/set_fcm_token", { fcm_token: "tok-alive" });
    const transport = createRecordingTransport().failToken("tok-dead", {
      code: FCM_ERROR.tokenNotRegistered,
    });

    await runCycle(2, 1, { transport, sleep: () => Promise.resolve() });

    expect(transport.delivered.map((m) => m.token)).toEqual(["tok-alive"]);
    const tokens = (await testDb().collection(`users/${a.uid}/tokens`).get()).docs.map((d) => d.id);
    expect(tokens).toEqual([tokenId("tok-alive")]);
    expect((await inbox(a.uid)).length).toBe(1);
  });

  it("a watch or subscription made after the FINISHED was applied is not this cycle's: no notice, and the watch stays for the next cycle", async () => {
    const early = await signUpUser("early");
    await call(early, "/notify_me", { machine_id: 2, isusing: 1 });
    const late = await signUpUser("late");
    const lateSub = await signUpUser("late-sub");
    const steps: [string, number][] = [
      ["WASHING", START],
      ["SPINNING", START + 30 * 60],
      ["FINISHED", START + 40 * 60],
    ];
    // Applied (the machine shows FINISHED), not yet settled.
    for (const [status, ts] of steps) {
      const id = await post(2, status, ts);
      await applyReport(testDb(), "2", id, () => clock);
    }
    clock += 5000;
    await call(late, "/notify_me", { machine_id: 2, isusing: 1 });
    await call(lateSub, "/device_subscribe", { room_id: 1 });
    const settle = () =>
      settleMachineEffects(testDb(), "2", {
        notify: {
          db: testDb(),
          now: () => clock,
          transport: createOutboxTransport(testDb()),
          appUrl: "https://x.test",
        },
        claimWindowMinutes: 10,
      });
    await settle();

    const cycleId = `2-${START + 40 * 60}`;
    expect((await inbox(early.uid)).map((d) => d.id)).toEqual([`finished-${cycleId}`]);
    expect(await inbox(late.uid)).toEqual([]);
    expect(await inbox(lateSub.uid)).toEqual([]);
    expect((await testDb().doc(`machines/2/watchers/${late.uid}`).get()).exists).toBe(true);
    expect((await testDb().doc(`machines/2/watchers/${early.uid}`).get()).exists).toBe(false);
    expect((await testDb().doc(`cycleWatchers/${cycleId}`).get()).get("uids")).toEqual({
      [early.uid]: true,
    });

    // The next cycle is theirs.
    for (const [status, ts] of steps) {
      const id = await post(2, status, ts + 3 * 3600);
      await applyReport(testDb(), "2", id, () => clock);
    }
    await settle();
    expect((await inbox(late.uid)).map((d) => d.id)).toEqual([
      `finished-2-${START + 40 * 60 + 3 * 3600}`,
    ]);
    expect((await inbox(lateSub.uid)).map((d) => d.get("type") as string)).toEqual([
      "room_finished",
    ]);
    expect((await inbox(early.uid)).length).toBe(1);
  });

  it("a retry still serves a watcher of the cycle whose watch an earlier run already deleted", async () => {
    const a = await signUpUser("recorded");
    await call(a, "/set_fcm_token", { fcm_token: "tok-recorded" });
    // An earlier run recorded the cycle's watchers and deleted the watch, then died before a's entry.
    await testDb()
      .doc("cycleWatchers/2-555")
      .set({ machineId: "2", uids: { [a.uid]: true } });
    const deps = {
      db: testDb(),
      now: () => clock,
      transport: createOutboxTransport(testDb()),
      appUrl: "https://x.test",
    };
    const ev = { machineId: "2", roomId: "1", type: "washer" as const, cycleId: "2-555" };
    expect(await notifyFinished(deps, ev)).toMatchObject({ notified: 1, pushed: 1 });
    expect((await inbox(a.uid)).map((d) => d.get("type") as string)).toEqual(["finished"]);
    expect((await outboxFor(a.uid)).length).toBe(1);
  });
});
