/**
 * The Firebase console as the admin UI: each edit is made with the Admin SDK (as the console
 * makes it), then the registered trigger gets the event, three times where redelivery
 * matters, and the consequences are checked: what the admin API would have done, no more.
 */
import { getAuth } from "firebase-admin/auth";
import type { DocumentReference, DocumentSnapshot } from "firebase-admin/firestore";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { createDeviceHandler, createDeviceState } from "../../functions/src/http/deviceHandler";
import { runHandler } from "../../functions/src/http/adapter";
import { joinQueue, onMachineFreed } from "../../functions/src/store/queue";
import { onAdminWritten } from "../../functions/src/triggers/onAdminWritten";
import { onMachineWritten } from "../../functions/src/triggers/onMachineWritten";
import { onProvisioningWritten } from "../../functions/src/triggers/onProvisioningWritten";
import { onRoomWritten } from "../../functions/src/triggers/onRoomWritten";
import { signUpUser } from "../support/auth";
import {
  TEST_MASTER_KEY,
  jsonRequest,
  readQueue,
  seedDemoWorld,
  testDb,
  testSettings,
} from "../support/world";

const NOW = Date.UTC(2025, 5, 9, 3, 0);

beforeEach(async () => {
  process.env.DEVICE_MASTER_KEY = TEST_MASTER_KEY;
  await seedDemoWorld();
});

/** The registered trigger run on `event` with the clock (Date, which its invocation reads) at `now`. */
async function run<E>(trigger: { run: (event: E) => unknown }, event: E, now: number) {
  vi.useFakeTimers({ toFake: ["Date"], now });
  try {
    return await trigger.run(event);
  } finally {
    vi.useRealTimers();
  }
}

/** Runs `edit` as a console user would, and returns the event a trigger gets for it. */
async function consoleEdit<P extends Record<string, string>>(
  ref: DocumentReference,
  params: P,
  edit: (ref: DocumentReference) => Promise<unknown>,
) {
  const before: DocumentSnapshot = await ref.get();
  await edit(ref);
  const after: DocumentSnapshot = await ref.get();
  return { params, data: { before, after } } as never;
}

async function inboxOf(uid: string) {
  return (await testDb().collection(`users/${uid}/notifications`).get()).docs.map((d) => d.data());
}

async function makeAdmin(): Promise<string> {
  const admin = await signUpUser("admin");
  await testDb().doc(`admins/${admin.uid}`).set({ email: admin.email });
  return admin.uid;
}

function postUpdate(machineId: number, secret: string) {
  return runHandler(
    "device",
    createDeviceHandler({
      db: testDb(),
      masterKey: TEST_MASTER_KEY,
      now: () => NOW,
      state: createDeviceState(testSettings().device),
    }),
    jsonRequest("POST", "/update", {
      machine_id: machineId,
      secret_key: secret,
      status: "WASHING",
      timestamp: NOW / 1000,
    }),
  );
}

describe("machines edited in the console", () => {
  it("provisions a machine created in the console once, however often the trigger runs", async () => {
    const db = testDb();
    const event = await consoleEdit(db.doc("machines/9"), { machineId: "9" }, (r) =>
      r.create({ name: "세탁기 9", roomId: "1", type: "washer" }),
    );
    const outcomes = [];
    for (let i = 0; i < 3; i++) outcomes.push(await run(onMachineWritten, event, NOW));
    expect(outcomes[0]).toBe("provisioned");

    const shown = (await db.doc("provisioning/9").get()).data()!;
    expect(shown.secret_key).toMatch(/^.{16,}$/);
    expect(shown.firmware_snippet).toContain("int MACHINE_ID = 9;");
    expect(shown.firmware_snippet).toContain(shown.secret_key);
    expect(shown.expireAt.toMillis()).toBe(NOW + 24 * 3600_000);
    const machine = (await db.doc("machines/9").get()).data()!;
    expect(machine).toMatchObject({
      status: "OFF",
      outOfOrder: false,
      online: false,
      name: "세탁기 9",
    });
    // The shown secret is the one that authenticates the board.
    expect((await postUpdate(9, shown.secret_key as string)).status).toBe(200);
    expect((await postUpdate(9, "not-the-secret")).status).toBe(401);
  });

  it("uses an admin's own secret put in provisioning/{id}.chosen_secret, and removes it", async () => {
    const db = testDb();
    await db.doc("provisioning/8").set({ chosen_secret: "the-fleet-secret-2024" });
    const event = await consoleEdit(db.doc("machines/8"), { machineId: "8" }, (r) =>
      r.create({ name: "건조기 8", roomId: "1", type: "dryer" }),
    );
    expect(await run(onMachineWritten, event, NOW)).toBe("provisioned");
    const shown = (await db.doc("provisioning/8").get()).data()!;
    expect(shown.chosen_secret).toBeUndefined();
    expect(shown.secret_key).toBe("the-fleet-secret-2024");
    expect((await postUpdate(8, "the-fleet-secret-2024")).status).toBe(200);
  });

  it("reverts an invalid edit, says why in configError and tells each admin once", async () => {
    const db = testDb();
    const adminUid = await makeAdmin();
    const event = await consoleEdit(db.doc("machines/2"), { machineId: "2" }, (r) =>
      r.update({ type: "toaster", name: "   " }),
    );
    for (let i = 0; i < 3; i++) await run(onMachineWritten, event, NOW);
    const machine = (await db.doc("machines/2").get()).data()!;
    expect(machine.type).toBe("washer");
    expect(machine.name).toBe("세탁기 2");
    expect(machine.configError.problems.map((p: { field: string }) => p.field).sort()).toEqual([
      "name",
      "type",
    ]);
    const notices = (await inboxOf(adminUid)).filter((n) => n.type === "config_error");
    expect(notices).toHaveLength(1);

    // The trigger's own revert is delivered too (before: the invalid edit, after: the revert):
    // it keeps configError, tells nobody again and moves nothing.
    const own = {
      params: { machineId: "2" },
      data: {
        before: (event as { data: { after: DocumentSnapshot } }).data.after,
        after: await db.doc("machines/2").get(),
      },
    } as never;
    await run(onMachineWritten, own, NOW + 1000);
    expect((await db.doc("machines/2").get()).get("configError.problems")).toHaveLength(2);
    expect((await inboxOf(adminUid)).filter((n) => n.type === "config_error")).toHaveLength(1);
  });

  it("flags a new machine in a room that does not exist, and provisions it once fixed", async () => {
    const db = testDb();
    const created = await consoleEdit(db.doc("machines/7"), { machineId: "7" }, (r) =>
      r.create({ name: "세탁기 7", roomId: "42", type: "washer" }),
    );
    expect(await run(onMachineWritten, created, NOW)).toBe("flagged");
    expect((await db.doc("deviceSecrets/7").get()).exists).toBe(false);
    expect((await db.doc("machines/7").get()).get("configError.problems")).toEqual([
      { field: "roomId", reason: "no room 42" },
    ]);
    const fixed = await consoleEdit(db.doc("machines/7"), { machineId: "7" }, (r) =>
      r.update({ roomId: "1" }),
    );
    expect(await run(onMachineWritten, fixed, NOW)).toBe("provisioned");
    expect((await db.doc("machines/7").get()).get("configError")).toBeUndefined();
    expect((await db.doc("provisioning/7").get()).get("secret_key")).toEqual(expect.any(String));
  });

  it("takes back a queue offer when the machine is marked out of order, and offers it again when back", async () => {
    const db = testDb();
    const alice = await signUpUser("alice");
    await joinQueue(db, alice.uid, "1", NOW);
    await onMachineFreed(db, "1", "1", NOW, 5);
    expect((await readQueue(db, "1")).entries[0]?.offer?.machineId).toBe("1");

    const broken = await consoleEdit(db.doc("machines/1"), { machineId: "1" }, (r) =>
      r.update({ outOfOrder: true }),
    );
    for (let i = 0; i < 3; i++) await run(onMachineWritten, broken, NOW);
    expect((await readQueue(db, "1")).entries[0]?.offer).toBeUndefined();
    expect((await db.doc("machines/1").get()).get("outOfOrderReason")).toBe("set by an admin");

    const fixed = await consoleEdit(db.doc("machines/1"), { machineId: "1" }, (r) =>
      r.update({ outOfOrder: false }),
    );
    for (let i = 0; i < 3; i++) await run(onMachineWritten, fixed, NOW + 60_000);
    const queue = await readQueue(db, "1");
    expect(queue.entries.map((e) => [e.uid, e.offer?.machineId])).toEqual([[alice.uid, "1"]]);
  });

  it("changes nothing in the queue for a calibration switch or a new machine, as the admin API", async () => {
    const db = testDb();
    const erin = await signUpUser("erin");
    await joinQueue(db, erin.uid, "1", NOW);
    const calibrated = await consoleEdit(db.doc("machines/2"), { machineId: "2" }, (r) =>
      r.update({ calibration: true }),
    );
    expect(await run(onMachineWritten, calibrated, NOW)).toBe("applied");
    const added = await consoleEdit(db.doc("machines/12"), { machineId: "12" }, (r) =>
      r.create({ name: "세탁기 12", roomId: "1", type: "washer" }),
    );
    expect(await run(onMachineWritten, added, NOW)).toBe("provisioned");
    expect((await readQueue(db, "1")).entries.map((e) => e.offer ?? null)).toEqual([null]);
  });

  it("leaves consequences to the newest edit when an older event arrives late", async () => {
    const db = testDb();
    const alice = await signUpUser("late-alice");
    await joinQueue(db, alice.uid, "1", NOW);
    const broken = await consoleEdit(db.doc("machines/1"), { machineId: "1" }, (r) =>
      r.update({ outOfOrder: true }),
    );
    const fixed = await consoleEdit(db.doc("machines/1"), { machineId: "1" }, (r) =>
      r.update({ outOfOrder: false }),
    );
    // Delivered out of order: the fix first (out of order was never applied: nothing to undo),
    // then the stale break, which must not mark the machine again.
    expect(await run(onMachineWritten, fixed, NOW)).toBe("applied");
    expect(await run(onMachineWritten, broken, NOW)).toBe("superseded");
    expect((await readQueue(db, "1")).entries.map((e) => [e.uid, e.offer ?? null])).toEqual([
      [alice.uid, null],
    ]);
    expect((await db.doc("machineConfigs/1").get()).data()).toEqual({
      roomId: "1",
      outOfOrder: false,
    });
    expect((await db.doc("machines/1").get()).get("outOfOrderSince") ?? null).toBeNull();
  });

  it("does not clean away a machine re-created after its delete", async () => {
    const db = testDb();
    const deleted = await consoleEdit(db.doc("machines/6"), { machineId: "6" }, (r) => r.delete());
    await db
      .doc("machines/6")
      .create({ name: "건조기 6", roomId: "1", type: "dryer", status: "OFF" });
    expect(await run(onMachineWritten, deleted, NOW)).toBe("superseded");
    expect((await db.doc("deviceSecrets/6").get()).exists).toBe(true);
  });

  it("reverts a whole edit when part of it is invalid (the valid part is not applied)", async () => {
    const db = testDb();
    await db.doc("rooms/2").create({ name: "2번 세탁실", timers: {}, timersAt: null });
    const edit = await consoleEdit(db.doc("machines/2"), { machineId: "2" }, (r) =>
      r.update({ roomId: "2", type: "toaster" }),
    );
    expect(await run(onMachineWritten, edit, NOW)).toBe("reverted");
    expect((await db.doc("machines/2").get()).data()).toMatchObject({
      roomId: "1",
      type: "washer",
    });
  });

  it("keeps refusing an invalid edit when another write lands before the trigger runs", async () => {
    const db = testDb();
    const edit = await consoleEdit(db.doc("machines/2"), { machineId: "2" }, (r) =>
      r.update({ name: "" }),
    );
    await db.doc("machines/2").update({ lastSeenAt: new Date(NOW) }); // a board's liveness write
    expect(await run(onMachineWritten, edit, NOW)).toBe("reverted");
    expect((await db.doc("machines/2").get()).get("name")).toBe("세탁기 2");
  });

  it("offers an idle machine moved to another room there, once, even when a rename follows before the trigger", async () => {
    const db = testDb();
    const frank = await signUpUser("frank");
    await db.doc("rooms/2").create({ name: "2번 세탁실", timers: {}, timersAt: null });
    await joinQueue(db, frank.uid, "2", NOW);
    const moved = await consoleEdit(db.doc("machines/2"), { machineId: "2" }, (r) =>
      r.update({ roomId: "2" }),
    );
    const renamed = await consoleEdit(db.doc("machines/2"), { machineId: "2" }, (r) =>
      r.update({ name: "세탁기 2-B" }),
    );
    // The rename's event first, then the move's (late): the move's consequences happen once.
    await run(onMachineWritten, renamed, NOW);
    await run(onMachineWritten, moved, NOW);
    await run(onMachineWritten, moved, NOW);
    const queue = await readQueue(db, "2");
    expect(queue.entries.map((e) => [e.uid, e.offer?.machineId])).toEqual([[frank.uid, "2"]]);
  });

  it("flags a machine whose id is not a number the board can carry, and provisions nothing", async () => {
    const db = testDb();
    const made = await consoleEdit(db.doc("machines/abc"), { machineId: "abc" }, (r) =>
      r.create({ name: "세탁기 abc", roomId: "1", type: "washer" }),
    );
    expect(await run(onMachineWritten, made, NOW)).toBe("flagged");
    expect((await db.doc("deviceSecrets/abc").get()).exists).toBe(false);
    expect((await db.doc("machines/abc").get()).get("configError.problems")).toEqual([
      { field: "id", reason: "must be a positive integer (the board's MACHINE_ID)" },
    ]);
  });

  it("generates a secret, with a warning, when the chosen one could never work", async () => {
    const db = testDb();
    await db.doc("provisioning/11").set({ chosen_secret: "x".repeat(300) });
    const made = await consoleEdit(db.doc("machines/11"), { machineId: "11" }, (r) =>
      r.create({ name: "세탁기 11", roomId: "1", type: "washer" }),
    );
    expect(await run(onMachineWritten, made, NOW)).toBe("provisioned");
    const shown = (await db.doc("provisioning/11").get()).data()!;
    expect(shown.secret_key).not.toBe("x".repeat(300));
    expect(shown.warnings).toEqual([
      "chosen_secret: ignored, a secret was generated: must be at most 256 characters",
    ]);
  });

  it("moves a running machine to another room: its cycle goes on, the old room's timer and offer go", async () => {
    const db = testDb();
    await db.doc("rooms/2").create({ name: "2번 세탁실", timers: {}, timersAt: null });
    await db
      .doc("machines/3")
      .update({ status: "WASHING", cycleStartedAt: new Date(NOW - 600_000) });
    await db
      .doc("rooms/1")
      .update({ "timers.3": { status: "WASHING", remainingMinutes: 30 }, timersActive: true });
    const moved = await consoleEdit(db.doc("machines/3"), { machineId: "3" }, (r) =>
      r.update({ roomId: "2" }),
    );
    for (let i = 0; i < 3; i++) expect(await run(onMachineWritten, moved, NOW)).toBe("applied");
    const machine = (await db.doc("machines/3").get()).data()!;
    expect(machine).toMatchObject({ roomId: "2", status: "WASHING" });
    expect((await db.doc("rooms/1").get()).get("timers.3")).toBeUndefined();
    // Running: not offered to the new room's queue.
    expect((await readQueue(db, "2")).entries).toEqual([]);
  });

  it("cleans up a deleted machine but keeps its finished cycles", async () => {
    const db = testDb();
    const bob = await signUpUser("bob");
    await db.doc(`machines/4/watchers/${bob.uid}`).set({ uid: bob.uid });
    await db.doc("cycles/4-100").set({ machineId: "4", totalMinutes: 40 });
    await joinQueue(db, bob.uid, "1", NOW);
    await onMachineFreed(db, "4", "1", NOW, 5);
    const deleted = await consoleEdit(db.doc("machines/4"), { machineId: "4" }, (r) => r.delete());
    for (let i = 0; i < 3; i++) expect(await run(onMachineWritten, deleted, NOW)).toBe("deleted");
    expect((await db.collection("machines/4/watchers").get()).size).toBe(0);
    expect((await db.doc("deviceSecrets/4").get()).exists).toBe(false);
    expect((await readQueue(db, "1")).entries.map((e) => e.offer?.machineId ?? null)).toEqual([
      null,
    ]);
    expect((await db.doc("cycles/4-100").get()).exists).toBe(true);
    expect((await postUpdate(4, "demo-secret-4")).status).toBe(404);
  });

  it("rotates a secret on `rotate: true` in provisioning/{id}; the old one stops working", async () => {
    const db = testDb();
    const event = await consoleEdit(db.doc("provisioning/5"), { machineId: "5" }, (r) =>
      r.set({ rotate: true }),
    );
    const outcomes = [];
    for (let i = 0; i < 3; i++) outcomes.push(await run(onProvisioningWritten, event, NOW));
    expect(outcomes).toEqual(["rotated", "superseded", "superseded"]);
    const shown = (await db.doc("provisioning/5").get()).data()!;
    expect(shown.rotate).toBeUndefined();
    expect((await postUpdate(5, shown.secret_key as string)).status).toBe(200);
    expect((await postUpdate(5, "demo-secret-5")).status).toBe(401);
  });
});

describe("rooms edited in the console", () => {
  it("gives a console-made room its defaults and reverts an empty name", async () => {
    const db = testDb();
    const made = await consoleEdit(db.doc("rooms/3"), { roomId: "3" }, (r) =>
      r.create({ name: "3층" }),
    );
    expect(await run(onRoomWritten, made, NOW)).toBe("applied");
    expect((await db.doc("rooms/3").get()).data()).toMatchObject({
      name: "3층",
      timers: {},
      timersAt: null,
    });
    const emptied = await consoleEdit(db.doc("rooms/3"), { roomId: "3" }, (r) =>
      r.update({ name: "" }),
    );
    expect(await run(onRoomWritten, emptied, NOW)).toBe("reverted");
    expect((await db.doc("rooms/3").get()).get("name")).toBe("3층");
  });

  it("flags a room created without a name", async () => {
    const db = testDb();
    const made = await consoleEdit(db.doc("rooms/4"), { roomId: "4" }, (r) =>
      r.create({ timers: {} }),
    );
    expect(await run(onRoomWritten, made, NOW)).toBe("flagged");
    expect((await db.doc("rooms/4").get()).get("configError.problems")).toEqual([
      { field: "name", reason: "must be text" },
    ]);
  });

  it("removes a deleted room's queue and subscriptions and flags its machines", async () => {
    const db = testDb();
    const adminUid = await makeAdmin();
    const carol = await signUpUser("carol");
    await joinQueue(db, carol.uid, "1", NOW);
    await db.doc(`rooms/1/subscribers/${carol.uid}`).set({ uid: carol.uid });
    const deleted = await consoleEdit(db.doc("rooms/1"), { roomId: "1" }, (r) => r.delete());
    // Redelivered at different times: one notice per admin all the same.
    for (let i = 0; i < 3; i++) {
      expect(await run(onRoomWritten, deleted, NOW + i * 60_000)).toBe("deleted");
    }
    expect((await inboxOf(adminUid)).filter((n) => n.type === "config_error")).toHaveLength(1);
    expect((await db.doc("queues/1").get()).exists).toBe(false);
    expect((await db.collection("rooms/1/subscribers").get()).size).toBe(0);
    expect((await db.doc("machines/1").get()).get("configError.problems")).toEqual([
      { field: "roomId", reason: "room 1 was deleted" },
    ]);
  });
});

describe("admins/{uid} in the console", () => {
  it("grants the admin claim when the document is created and revokes it when deleted", async () => {
    const db = testDb();
    const dana = await signUpUser("dana");
    const granted = await consoleEdit(db.doc(`admins/${dana.uid}`), { uid: dana.uid }, (r) =>
      r.set({ email: dana.email }),
    );
    const outcomes = [];
    for (let i = 0; i < 3; i++) outcomes.push(await onAdminWritten.run(granted));
    expect(outcomes).toEqual(["granted", "unchanged", "unchanged"]);
    expect((await getAuth().getUser(dana.uid)).customClaims).toEqual({ admin: true });

    const revoked = await consoleEdit(db.doc(`admins/${dana.uid}`), { uid: dana.uid }, (r) =>
      r.delete(),
    );
    expect(await onAdminWritten.run(revoked)).toBe("revoked");
    expect((await getAuth().getUser(dana.uid)).customClaims ?? {}).toEqual({});
  });

  it("follows the document, not the event: a create delivered after the delete grants nothing", async () => {
    const db = testDb();
    const gus = await signUpUser("gus");
    const created = await consoleEdit(db.doc(`admins/${gus.uid}`), { uid: gus.uid }, (r) =>
      r.set({ email: gus.email }),
    );
    const deleted = await consoleEdit(db.doc(`admins/${gus.uid}`), { uid: gus.uid }, (r) =>
      r.delete(),
    );
    await onAdminWritten.run(deleted);
    expect(await onAdminWritten.run(created)).toBe("unchanged");
    expect((await getAuth().getUser(gus.uid)).customClaims ?? {}).toEqual({});
  });

  it("reports a uid with no account instead of failing forever", async () => {
    const event = await consoleEdit(
      testDb().doc("admins/nobody-here"),
      { uid: "nobody-here" },
      (r) => r.set({}),
    );
    expect(await onAdminWritten.run(event)).toBe("no-such-user");
  });
});
