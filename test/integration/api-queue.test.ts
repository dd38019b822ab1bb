import { Timestamp } from "firebase-admin/firestore";
import { beforeEach, describe, expect, it } from "vitest";
import { type HttpResponse, runHandler } from "../../functions/src/http/adapter";
import {
  type RecordingTransport,
  createRecordingTransport,
} from "../../tools/fcm/recordingTransport";
import { clearBroken } from "../../functions/src/store/broken";
import { expireQueueOffers, onMachineFreed, queueOfferId } from "../../functions/src/store/queue";
import { saveFcmToken } from "../../functions/src/store/users";
import { type TestUser, bearer, signUpUser } from "../support/auth";
import {
  applyReportAt,
  dumpDb,
  jsonRequest,
  postUpdate,
  seedDemoWorld,
  testDb,
  deliverPushes,
  invocationAt,
  readQueue,
  apiAt,
} from "../support/world";

// Monday 2026-11-16 09:50 KST; the api clock runs two days later.
const START = Date.UTC(2026, 10, 16, 0, 50) / 1000;
const NOW = (START + 48 * 3600) * 1000;
const MIN = 60_000;
const WINDOW = 10; // CLAIM_WINDOW_MINUTES is unset in tests: the default applies
let clock = NOW;
let transport: RecordingTransport;

const api = () => apiAt(() => clock);

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  return runHandler("api", api(), jsonRequest("POST", path, body, headers));
}
const reserve = (u: TestUser, room_id: unknown, isreserved: unknown) =>
  post("/reserve", { room_id, isreserved }, bearer(u));
const claimReq = (u: TestUser, body: unknown) => post("/reserve/claim", body, bearer(u));

const errorOf = (res: HttpResponse) =>
  (res.body as { error: { code: string; message: string } }).error;
const bodyOf = (res: HttpResponse) => res.body as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const order = async (roomId = "1") =>
  (await readQueue(testDb(), roomId)).entries.map((e) => ({
    uid: e.uid,
    passes: e.passes,
    offer: e.offer?.machineId ?? null,
  }));
const inboxIds = async (uid: string) =>
  (await testDb().collection(`users/${uid}/notifications`).get()).docs.map((d) => d.id);

/** One device report, stored by the device handler and applied by the report trigger. */
async function report(machineId: number, status: string, timestamp: number) {
  clock += 1500;
  const reportId = await postUpdate(clock, machineId, status, timestamp);
  await applyReportAt(clock, String(machineId), reportId);
}

/** Machines 2–6 out of order, machine 1 running since `startedMinAgo` (washer default: 50 min). */
async function onlyMachineOneRunning(startedMinAgo: number) {
  const db = testDb();
  for (const id of ["2", "3", "4", "5", "6"])
    await db.doc(`machines/${id}`).update({ outOfOrder: true });
  await db.doc("machines/1").update({
    status: "WASHING",
    online: true,
    cycleStartedAt: Timestamp.fromMillis(clock - startedMinAgo * MIN),
  });
}

async function users(n: number): Promise<TestUser[]> {
  const out: TestUser[] = [];
  for (let i = 0; i < n; i++) out.push(await signUpUser(`queue${i}`));
  return out;
}

beforeEach(async () => {
  clock = NOW;
  transport = createRecordingTransport();
  await seedDemoWorld();
});

describe("POST /reserve", () => {
  it("queues users first come first served with their place and expected wait, and joining twice keeps the place", async () => {
    await onlyMachineOneRunning(10);
    const [a, b, c] = await users(3);
    const ra = await reserve(a, 1, 1);
    expect(ra.status, JSON.stringify(ra.body)).toBe(200);
    expect(bodyOf(ra)).toMatchObject({
      message: "ok",
      joined: true,
      room_id: 1,
      isreserved: 1,
      queue_position: 1,
      queue_length: 1,
      // machine 1 ends 50 min after its start, 10 min ago
      expected_wait_minutes: 40,
      offer: null,
    });
    expect(bodyOf(await reserve(b, "1", true))).toMatchObject({
      queue_position: 2,
      expected_wait_minutes: 90,
    });
    expect(bodyOf(await reserve(c, 1, 1))).toMatchObject({
      queue_position: 3,
      expected_wait_minutes: 140,
    });
    const again = await reserve(a, 1, 1);
    expect(bodyOf(again)).toMatchObject({ joined: false, queue_position: 1, queue_length: 3 });
    expect((await order()).map((e) => e.uid)).toEqual([a.uid, b.uid, c.uid]);
  });

  it("isreserved 0 leaves the queue and the others move up; leaving when not queued changes nothing", async () => {
    const [a, b] = await users(2);
    await reserve(a, 1, 1);
    await reserve(b, 1, 1);
    const left = await reserve(a, 1, 0);
    expect(bodyOf(left)).toMatchObject({
      left: true,
      isreserved: 0,
      queue_position: null,
      expected_wait_minutes: null,
      queue_length: 1,
    });
    expect(bodyOf(await reserve(b, 1, 1))).toMatchObject({ queue_position: 1 });
    const before = await dumpDb();
    expect(bodyOf(await reserve(a, 1, false))).toMatchObject({ left: false, isreserved: 0 });
    expect(await dumpDb()).toEqual(before);
  });

  it("concurrent joins each get their own place (no write is lost)", async () => {
    const us = await users(5);
    const res = await Promise.all(us.map((u) => reserve(u, 1, 1)));
    expect(res.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(res.map((r) => bodyOf(r).queue_position as number).sort()).toEqual([1, 2, 3, 4, 5]);
    expect((await order()).map((e) => e.uid).sort()).toEqual(us.map((u) => u.uid).sort());
  });

  it("30 residents joining at once each get in line or a 409 with Retry-After, never a 500, and no place is lost", async () => {
    const us = await users(30);
    const res = await Promise.all(us.map((u) => reserve(u, 1, 1)));
    const statuses = res.map((r) => r.status);
    expect(statuses.filter((s) => s !== 200 && s !== 409)).toEqual([]);
    for (const busy of res.filter((r) => r.status === 409)) {
      expect(busy.headers?.["Retry-After"]).toBe("1");
      expect(busy.body).toMatchObject({ error: { code: "conflict" } });
    }
    const joined = us.filter((_, i) => res[i]?.status === 200).map((u) => u.uid);
    expect(joined.length).toBeGreaterThan(0);
    expect((await order()).map((e) => e.uid).sort()).toEqual(joined.sort());
  });

  it("a holder who leaves passes the machine to the next in line, who is notified", async () => {
    const [a, b] = await users(2);
    await reserve(a, 1, 1);
    await reserve(b, 1, 1);
    await onMachineFreed(testDb(), "3", "1", clock, WINDOW);
    clock += MIN;
    expect(bodyOf(await reserve(a, 1, 0))).toMatchObject({ left: true });
    expect(await order()).toEqual([{ uid: b.uid, passes: 0, offer: "3" }]);
    expect(await inboxIds(b.uid)).toEqual([queueOfferId("1", "3", clock)]);
  });

  it("rejects bad input with the field named and writes nothing", async () => {
    const [a] = await users(1);
    await reserve(a, 1, 1);
    const before = await dumpDb();
    const cases: [unknown, number, string, RegExp][] = [
      [{ isreserved: 1 }, 400, "invalid_body", /^room_id: /],
      [{ room_id: 1 }, 400, "invalid_body", /^isreserved: /],
      [{ room_id: 1, isreserved: 2 }, 400, "invalid_body", /^isreserved: must be 1 \(on\) or 0/],
      [{ room_id: 1, isreserved: "1" }, 400, "invalid_body", /^isreserved: /],
      [{ room_id: 0, isreserved: 1 }, 400, "invalid_body", /^room_id: /],
      [{ room_id: "1a", isreserved: 1 }, 400, "invalid_body", /^room_id: /],
      [{ room_id: 1.5, isreserved: 1 }, 400, "invalid_body", /^room_id: /],
      [{ room_id: 1, isreserved: 1, uid: "x" }, 400, "invalid_body", /unknown field uid/],
      ["[1, 2]", 400, "invalid_body", /^body: /],
      ["{nope", 400, "invalid_json", /not valid JSON/],
      [{ room_id: 99, isreserved: 1 }, 404, "not_found", /^room_id: no room 99$/],
      [{ room_id: 99, isreserved: 0 }, 404, "not_found", /^room_id: no room 99$/],
    ];
    for (const [body, status, code, message] of cases) {
      const res = await post("/reserve", body, bearer(a));
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(errorOf(res).code, JSON.stringify(body)).toBe(code);
      expect(errorOf(res).message, JSON.stringify(body)).toMatch(message);
    }
    for (const headers of [{}, bearer("not.a.token")]) {
      const res = await post("/reserve", { room_id: 1, isreserved: 1 }, headers);
      expect(res.status).toBe(401);
      expect(errorOf(res).code).toBe("unauthenticated");
    }
    expect(await dumpDb()).toEqual(before);
  });
});

describe("fair queue: machine freed → offer → expiry → claim", () => {
  it("three users queue in room 1; machine 1 finishes and the first is offered it; after the window it passes to the second and the first goes to the back; the machine starting removes the holder", async () => {
    const [a, b, c] = await users(3);
    await saveFcmToken(testDb(), a.uid, { token: "tok-a", platform: "web", now: clock });
    for (const u of [a, b, c]) expect((await reserve(u, 1, 1)).status).toBe(200);

    await report(1, "WASHING", START);
    await report(1, "SPINNING", START + 30 * 60);
    expect(await order()).toEqual([
      { uid: a.uid, passes: 0, offer: null },
      { uid: b.uid, passes: 0, offer: null },
      { uid: c.uid, passes: 0, offer: null },
    ]);
    await report(1, "FINISHED", START + 40 * 60);
    const offeredAt = clock;

    // The first in line holds the offer, is told once (inbox + push) and sees it in /load.
    expect(await order()).toEqual([
      { uid: a.uid, passes: 0, offer: "1" },
      { uid: b.uid, passes: 0, offer: null },
      { uid: c.uid, passes: 0, offer: null },
    ]);
    const offerId = queueOfferId("1", "1", offeredAt);
    expect(await inboxIds(a.uid)).toEqual([offerId]);
    const entry = (await testDb().doc(`users/${a.uid}/notifications/${offerId}`).get()).data();
    expect(entry).toMatchObject({
      type: "queue_offer",
      machineId: "1",
      roomId: "1",
      title: "내 차례예요!",
      body: expect.stringContaining("10분 안에"),
      readAt: null,
    });
    expect(entry?.expiresAt.toMillis()).toBe(offeredAt + WINDOW * MIN);
    await deliverPushes(transport, clock);
    expect(transport.delivered.filter((m) => m.uid === a.uid).map((m) => m.token)).toEqual([
      "tok-a",
    ]);
    expect(await inboxIds(b.uid)).toEqual([]);
    const load = await post("/load", { room_id: 1 }, bearer(a));
    expect(bodyOf(load)).toMatchObject({
      isreserved: 1,
      queue_position: 1,
      expected_wait_minutes: 0,
      reservations: [{ offer: { machine_id: 1, expires_at: offeredAt + WINDOW * MIN } }],
    });
    expect(bodyOf(load).machines[0]).toMatchObject({ machine_id: 1, offered_to_me: 1 });

    // Just before the window ends nothing happens; at its end the offer passes on.
    expect(
      (await expireQueueOffers(testDb(), offeredAt + WINDOW * MIN - 1, WINDOW)).expired,
    ).toEqual([]);
    const at = offeredAt + WINDOW * MIN;
    clock = at;
    const expiry = await expireQueueOffers(testDb(), at, WINDOW);
    expect(expiry.expired).toEqual([
      expect.objectContaining({ roomId: "1", uid: a.uid, machineId: "1", outcome: "requeued" }),
    ]);
    expect(expiry.offers).toEqual([
      expect.objectContaining({ roomId: "1", uid: b.uid, machineId: "1", offeredAt: at }),
    ]);
    expect(await order()).toEqual([
      { uid: b.uid, passes: 0, offer: "1" },
      { uid: c.uid, passes: 0, offer: null },
      { uid: a.uid, passes: 1, offer: null },
    ]);
    expect(await inboxIds(b.uid)).toEqual([queueOfferId("1", "1", at)]);

    // The same tick again changes nothing at all.
    const before = await dumpDb();
    const again = await expireQueueOffers(testDb(), at, WINDOW);
    expect(again).toMatchObject({ roomsWritten: 0, expired: [], offers: [] });
    expect(await dumpDb()).toEqual(before);

    // The second in line starts the machine: they claimed it and leave the queue.
    await report(1, "WASHING", START + 60 * 60);
    expect(await order()).toEqual([
      { uid: c.uid, passes: 0, offer: null },
      { uid: a.uid, passes: 1, offer: null },
    ]);
    expect(bodyOf(await reserve(a, 1, 1))).toMatchObject({ queue_position: 2, joined: false });
  });

  it("a second expired offer removes the user; alone in line they get one more chance first", async () => {
    const [a] = await users(1);
    await reserve(a, 1, 1);
    const t0 = clock;
    await onMachineFreed(testDb(), "2", "1", t0, WINDOW);
    const r1 = await expireQueueOffers(testDb(), t0 + WINDOW * MIN, WINDOW);
    expect(r1.expired.map((x) => x.outcome)).toEqual(["requeued"]);
    expect(await order()).toEqual([{ uid: a.uid, passes: 1, offer: "2" }]);
    const r2 = await expireQueueOffers(testDb(), t0 + 2 * WINDOW * MIN, WINDOW);
    expect(r2.expired.map((x) => x.outcome)).toEqual(["removed"]);
    expect(await order()).toEqual([]);
    expect((await inboxIds(a.uid)).sort()).toEqual(
      [queueOfferId("1", "2", t0), queueOfferId("1", "2", t0 + WINDOW * MIN)].sort(),
    );
  });

  it("a repeated 'machine freed' makes no second offer and no second notification", async () => {
    const [a, b] = await users(2);
    await reserve(a, 1, 1);
    await reserve(b, 1, 1);
    const first = await onMachineFreed(testDb(), "1", "1", clock, WINDOW);
    expect(first.offer?.uid).toBe(a.uid);
    expect(await inboxIds(a.uid)).toEqual([queueOfferId("1", "1", clock)]);
    const before = await dumpDb();
    const second = await onMachineFreed(testDb(), "1", "1", clock + 1000, WINDOW);
    expect(second.offer).toBeNull();
    expect(await dumpDb()).toEqual(before);
  });

  it("an out-of-order machine is offered to nobody", async () => {
    const [a] = await users(1);
    await reserve(a, 1, 1);
    await testDb().doc("machines/2").update({ outOfOrder: true });
    const r = await onMachineFreed(testDb(), "2", "1", clock, WINDOW);
    expect(r.offer).toBeNull();
    expect(await order()).toEqual([{ uid: a.uid, passes: 0, offer: null }]);
  });

  it("a machine starting without an offer leaves the queue as it is", async () => {
    const [a] = await users(1);
    await reserve(a, 1, 1);
    const queue = (await testDb().doc("queues/1").get()).data();
    await report(1, "WASHING", START);
    expect((await testDb().doc("machines/1").get()).get("status")).toBe("WASHING");
    expect((await testDb().doc("queues/1").get()).data()).toEqual(queue);
  });
});

describe("POST /reserve/claim", () => {
  it("the holder claims the offered machine and leaves the queue", async () => {
    const [a, b] = await users(2);
    await reserve(a, 1, 1);
    await reserve(b, 1, 1);
    const offeredAt = clock;
    await onMachineFreed(testDb(), "3", "1", offeredAt, WINDOW);
    clock += 4 * MIN;
    const res = await claimReq(a, { room_id: 1, machine_id: 3 });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({
      message: "claimed",
      room_id: 1,
      machine_id: 3,
      offered_at: offeredAt,
      expires_at: offeredAt + WINDOW * MIN,
      claimed_at: clock,
      isreserved: 0,
    });
    expect(await order()).toEqual([{ uid: b.uid, passes: 0, offer: null }]);
  });

  it("machine_id is optional", async () => {
    const [a] = await users(1);
    await reserve(a, 1, 1);
    await onMachineFreed(testDb(), "5", "1", clock, WINDOW);
    const res = await claimReq(a, { room_id: "1" });
    expect(bodyOf(res)).toMatchObject({ message: "claimed", machine_id: 5 });
  });

  it("refuses claims that are not the user's to make, naming why, and writes nothing", async () => {
    const [a, b, outsider] = await users(3);
    await reserve(a, 1, 1);
    await reserve(b, 1, 1);
    const offeredAt = clock;
    await onMachineFreed(testDb(), "3", "1", offeredAt, WINDOW);
    const before = await dumpDb();
    const cases: [TestUser, unknown, number, string, RegExp][] = [
      [outsider, { room_id: 1 }, 409, "conflict", /^room_id: you are not in the queue of room 1$/],
      [b, { room_id: 1 }, 409, "conflict", /^room_id: no machine is offered to you/],
      [a, { room_id: 1, machine_id: 2 }, 409, "conflict", /^machine_id: machine 2 is not the one/],
      [a, { room_id: 99 }, 404, "not_found", /^room_id: no room 99$/],
      [a, { room_id: 1, machine_id: 99 }, 404, "not_found", /^machine_id: no machine 99$/],
      [a, {}, 400, "invalid_body", /^room_id: /],
      [a, { room_id: 1, machine_id: 0 }, 400, "invalid_body", /^machine_id: /],
      [a, { room_id: 1, machine_id: "three" }, 400, "invalid_body", /^machine_id: /],
      [a, { room_id: 1, isreserved: 1 }, 400, "invalid_body", /unknown field isreserved/],
      [a, "", 400, "invalid_json", /empty/],
    ];
    for (const [u, body, status, code, message] of cases) {
      const res = await claimReq(u, body);
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(errorOf(res).code, JSON.stringify(body)).toBe(code);
      expect(errorOf(res).message, JSON.stringify(body)).toMatch(message);
    }
    // At the end of the window the claim is refused even before the tick expires the offer.
    clock = offeredAt + WINDOW * MIN;
    const late = await claimReq(a, { room_id: 1, machine_id: 3 });
    expect(late.status).toBe(409);
    expect(errorOf(late).message).toBe("room_id: your offer in room 1 has expired");
    const noToken = await post("/reserve/claim", { room_id: 1 });
    expect(noToken.status).toBe(401);
    expect(await dumpDb()).toEqual(before);
  });
});

describe("queue offers and machines that cannot be used", () => {
  it("a late 'machine freed' for a machine already running again offers nothing", async () => {
    const [a] = await users(1);
    await reserve(a, 1, 1);
    await testDb().doc("machines/2").update({ status: "WASHING" });
    const r = await onMachineFreed(testDb(), "2", "1", clock, WINDOW);
    expect(r.offer).toBeNull();
    expect(await order()).toEqual([{ uid: a.uid, passes: 0, offer: null }]);
    expect(await inboxIds(a.uid)).toEqual([]);
  });

  it("a machine flagged broken loses its offer without penalty, the tick does not pass it on, and clearing it offers it again", async () => {
    const [a, b, r1, r2] = await users(4);
    await reserve(a, 1, 1);
    await reserve(b, 1, 1);
    await onMachineFreed(testDb(), "3", "1", clock, WINDOW);
    expect(await order()).toEqual([
      { uid: a.uid, passes: 0, offer: "3" },
      { uid: b.uid, passes: 0, offer: null },
    ]);
    // The reporters' accounts are new; their age is not what this test is about.
    process.env.BROKEN_MIN_ACCOUNT_AGE_HOURS = "0";
    try {
      for (const u of [r1, r2]) {
        clock += 1000;
        const res = await post("/report_broken", { machine_id: 3, reason: "물이 새요" }, bearer(u));
        expect(bodyOf(res)).toMatchObject({ out_of_order: expect.any(Boolean) });
      }
    } finally {
      process.env.BROKEN_MIN_ACCOUNT_AGE_HOURS = "24";
    }
    expect((await testDb().doc("machines/3").get()).get("outOfOrder")).toBe(true);
    const withdrawn = [
      { uid: a.uid, passes: 0, offer: null },
      { uid: b.uid, passes: 0, offer: null },
    ];
    expect(await order()).toEqual(withdrawn);

    const tick = await expireQueueOffers(testDb(), clock + 2 * WINDOW * MIN, WINDOW);
    expect(tick).toMatchObject({ expired: [], offers: [] });
    expect(await order()).toEqual(withdrawn);

    clock += MIN;
    const cleared = await clearBroken(invocationAt(clock), { machineId: "3", adminUid: "admin" });
    expect(cleared).toMatchObject({ wasOutOfOrder: true, offeredTo: a.uid });
    expect(await order()).toEqual([
      { uid: a.uid, passes: 0, offer: "3" },
      { uid: b.uid, passes: 0, offer: null },
    ]);
  });

  it("a clear that died after flagging the machine back in order still offers it when retried", async () => {
    const [a] = await users(1);
    await reserve(a, 1, 1);
    // The clear wrote outOfOrder: false, then died before archiving and offering.
    await testDb().doc("machines/3").update({ outOfOrder: false });
    clock += MIN;
    const retried = await clearBroken(invocationAt(clock), { machineId: "3", adminUid: "admin" });
    expect(retried).toMatchObject({ wasOutOfOrder: false, offeredTo: a.uid });
    expect(await order()).toEqual([{ uid: a.uid, passes: 0, offer: "3" }]);
    const again = await clearBroken(invocationAt(clock + 1000), {
      machineId: "3",
      adminUid: "admin",
    });
    expect(again.offeredTo).toBeNull(); // no second offer
    expect(await order()).toEqual([{ uid: a.uid, passes: 0, offer: "3" }]);
  });

  it("the tick takes back an offer of a machine flagged out of order behind its back, and does not pass on an expired offer of a machine running meanwhile", async () => {
    const [a, b] = await users(2);
    await reserve(a, 1, 1);
    await reserve(b, 1, 1);
    const t0 = clock;
    await onMachineFreed(testDb(), "3", "1", t0, WINDOW);
    await testDb().doc("machines/3").update({ outOfOrder: true });
    const r = await expireQueueOffers(testDb(), t0 + MIN, WINDOW);
    expect(r.withdrawn.map((x) => [x.uid, x.machineId])).toEqual([[a.uid, "3"]]);
    expect(await order()).toEqual([
      { uid: a.uid, passes: 0, offer: null },
      { uid: b.uid, passes: 0, offer: null },
    ]);

    await onMachineFreed(testDb(), "4", "1", t0 + 2 * MIN, WINDOW);
    await testDb().doc("machines/4").update({ status: "WASHING" });
    const x = await expireQueueOffers(testDb(), t0 + 2 * MIN + WINDOW * MIN, WINDOW);
    expect(x.expired.map((e) => [e.uid, e.outcome])).toEqual([[a.uid, "requeued"]]);
    expect(x.offers).toEqual([]);
    expect(await order()).toEqual([
      { uid: b.uid, passes: 0, offer: null },
      { uid: a.uid, passes: 1, offer: null },
    ]);
  });
});
