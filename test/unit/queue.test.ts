import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  EMPTY_QUEUE,
  MAX_PASSES,
  type RoomQueue,
  type WaitMachine,
  activeOffers,
  claim,
  claimByMachineStart,
  entryOf,
  expectedWaitMinutes,
  expireOffers,
  join,
  leave,
  offerFreedMachine,
  position,
  withdrawOffer,
} from "../../functions/src/domain/queue";
import { MINUTE_MS } from "../../functions/src/domain/time";

const T0 = Date.UTC(2026, 10, 22, 3, 0, 0);
const WINDOW = 10;

function queueOf(...uids: string[]): RoomQueue {
  let q = EMPTY_QUEUE;
  uids.forEach((uid, i) => {
    q = join(q, uid, T0 + i * 1000).queue;
  });
  return q;
}

function order(q: RoomQueue): string[] {
  return q.entries.map((e) => e.uid);
}

describe("join, leave and position", () => {
  it("gives positions 1..n in the order users joined", () => {
    const q = queueOf("a", "b", "c");
    expect([position(q, "a"), position(q, "b"), position(q, "c")]).toEqual([1, 2, 3]);
  });

  it("keeps one place per user: joining again changes nothing and reports the same position", () => {
    const q = queueOf("a", "b");
    const again = join(q, "a", T0 + 60_000);
    expect(again).toEqual({ queue: q, joined: false });
    expect(position(again.queue, "a")).toBe(1);
    expect(again.queue).toBe(q);
  });

  it("reports null for a user who is not queued", () => {
    expect(position(queueOf("a"), "zed")).toBeNull();
  });

  it("closes the gap when someone leaves", () => {
    const r = leave(queueOf("a", "b", "c"), "b");
    expect(r.left).toBe(true);
    expect(r.released).toBeNull();
    expect(order(r.queue)).toEqual(["a", "c"]);
    expect(position(r.queue, "c")).toBe(2);
  });

  it("leaving when not queued is a no-op on the same object", () => {
    const q = queueOf("a");
    expect(leave(q, "zed")).toEqual({ queue: q, left: false, released: null });
  });

  it("hands back the offer of a holder who leaves so the machine can go to the next", () => {
    const offered = offerFreedMachine(queueOf("a", "b"), "m1", T0, WINDOW).queue;
    const r = leave(offered, "a");
    expect(r.released).toEqual({
      uid: "a",
      machineId: "m1",
      offeredAt: T0,
      expiresAt: T0 + WINDOW * MINUTE_MS,
    });
    const next = offerFreedMachine(r.queue, r.released!.machineId, T0 + 1000, WINDOW);
    expect(next.offer?.uid).toBe("b");
  });

  it("never stamps a later place with an earlier time than the one before it", () => {
    const q = join(queueOf("a"), "b", T0 - 5000).queue;
    expect(q.entries.map((e) => e.joinedAt)).toEqual([T0, T0]);
  });
});

describe("offers and claims", () => {
  it("offers a freed machine to the head of the queue for the claim window", () => {
    const r = offerFreedMachine(queueOf("a", "b"), "m1", T0, WINDOW);
    expect(r.offer).toEqual({
      uid: "a",
      machineId: "m1",
      offeredAt: T0,
      expiresAt: T0 + 10 * MINUTE_MS,
    });
    expect(entryOf(r.queue, "a")?.offer?.machineId).toBe("m1");
    expect(position(r.queue, "a")).toBe(1);
  });

  it("offers nothing when nobody waits", () => {
    const r = offerFreedMachine(EMPTY_QUEUE, "m1", T0, WINDOW);
    expect(r).toEqual({ queue: EMPTY_QUEUE, offer: null });
  });

  it("skips users who already hold an offer", () => {
    let q = offerFreedMachine(queueOf("a", "b"), "m1", T0, WINDOW).queue;
    const r = offerFreedMachine(q, "m2", T0, WINDOW);
    expect(r.offer?.uid).toBe("b");
    q = r.queue;
    expect(offerFreedMachine(q, "m3", T0, WINDOW).offer).toBeNull();
  });

  it("makes no second offer when the same machine frees up again (repeated event)", () => {
    const first = offerFreedMachine(queueOf("a", "b"), "m1", T0, WINDOW);
    const again = offerFreedMachine(first.queue, "m1", T0 + 1000, WINDOW);
    expect(again.offer).toBeNull();
    expect(again.queue).toBe(first.queue);
  });

  it("offers several expired machines in the order they expired", () => {
    let q = offerFreedMachine(queueOf("a", "b", "c", "d"), "m2", T0, WINDOW).queue;
    q = offerFreedMachine(q, "m1", T0, WINDOW).queue;
    const r = expireOffers(q, T0 + WINDOW * MINUTE_MS, WINDOW);
    expect(r.offers.map((o) => [o.uid, o.machineId])).toEqual([
      ["c", "m2"],
      ["d", "m1"],
    ]);
  });

  it("lets the holder claim within the window and takes them out of the queue", () => {
    const q = offerFreedMachine(queueOf("a", "b"), "m1", T0, WINDOW).queue;
    const r = claim(q, "a", "m1", T0 + 9 * MINUTE_MS);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.claimed).toMatchObject({ uid: "a", machineId: "m1", claimedAt: T0 + 9 * MINUTE_MS });
    expect(order(r.queue)).toEqual(["b"]);
  });

  it("accepts a claim without naming the machine", () => {
    const q = offerFreedMachine(queueOf("a"), "m1", T0, WINDOW).queue;
    expect(claim(q, "a", undefined, T0).ok).toBe(true);
  });

  it("refuses claims for another machine, without an offer, when not queued, or too late", () => {
    const q = offerFreedMachine(queueOf("a", "b"), "m1", T0, WINDOW).queue;
    const reason = (r: ReturnType<typeof claim>) => (r.ok ? "ok" : r.reason);
    expect(reason(claim(q, "a", "m2", T0))).toBe("otherMachine");
    expect(reason(claim(q, "b", undefined, T0))).toBe("noOffer");
    expect(reason(claim(q, "zed", undefined, T0))).toBe("notQueued");
    expect(reason(claim(q, "a", "m1", T0 + WINDOW * MINUTE_MS))).toBe("expired");
    expect(claim(q, "a", "m2", T0).queue).toBe(q);
  });

  it("counts the machine starting a cycle as its holder's claim", () => {
    const q = offerFreedMachine(queueOf("a", "b"), "m1", T0, WINDOW).queue;
    const r = claimByMachineStart(q, "m1", T0 + 3 * MINUTE_MS);
    expect(r.claimed).toMatchObject({ uid: "a", machineId: "m1", claimedAt: T0 + 3 * MINUTE_MS });
    expect(order(r.queue)).toEqual(["b"]);
  });

  it("ignores a machine start when that machine was not on offer", () => {
    const q = queueOf("a");
    expect(claimByMachineStart(q, "m9", T0)).toEqual({ queue: q, claimed: null });
  });

  it("withdraws an offer without costing its holder their place or a pass", () => {
    const q = offerFreedMachine(queueOf("a", "b"), "m1", T0, WINDOW).queue;
    const r = withdrawOffer(q, "m1");
    expect(r.withdrawn?.uid).toBe("a");
    expect(r.queue.entries[0]).toEqual({ uid: "a", joinedAt: T0, passes: 0 });
    expect("offer" in r.queue.entries[0]).toBe(false);
  });

  it("rejects a claim window that is not a positive number of minutes", () => {
    expect(() => offerFreedMachine(queueOf("a"), "m1", T0, 0)).toThrow(RangeError);
    expect(() => expireOffers(queueOf("a"), T0, Number.NaN)).toThrow(RangeError);
  });
});

describe("expiry", () => {
  it("passes the offer to the second of three after the window and puts the first at the back", () => {
    // Three users queue in room 1; machine 3 finishes at T.
    const q0 = queueOf("u1", "u2", "u3");
    const T = T0 + 30 * MINUTE_MS;
    const offered = offerFreedMachine(q0, "3", T, WINDOW);
    expect(offered.offer).toMatchObject({ uid: "u1", machineId: "3" });

    // One second before the window closes nothing changes.
    const early = expireOffers(offered.queue, T + WINDOW * MINUTE_MS - 1000, WINDOW);
    expect(early).toEqual({ queue: offered.queue, expired: [], offers: [] });

    // When it closes, the same machine goes to user 2 and user 1 is last.
    const due = T + WINDOW * MINUTE_MS;
    const r = expireOffers(offered.queue, due, WINDOW);
    expect(r.expired).toEqual([
      { uid: "u1", machineId: "3", offeredAt: T, expiresAt: due, outcome: "requeued" },
    ]);
    expect(r.offers).toEqual([
      { uid: "u2", machineId: "3", offeredAt: due, expiresAt: due + WINDOW * MINUTE_MS },
    ]);
    expect(order(r.queue)).toEqual(["u2", "u3", "u1"]);
    expect(position(r.queue, "u1")).toBe(3);
    expect(entryOf(r.queue, "u1")).toEqual({ uid: "u1", joinedAt: due, passes: 1 });

    // User 2 claims it by starting the machine; user 3 is now first in line.
    const started = claimByMachineStart(r.queue, "3", due + 2 * MINUTE_MS);
    expect(started.claimed?.uid).toBe("u2");
    expect(order(started.queue)).toEqual(["u3", "u1"]);
  });

  it("removes a user whose offer expires a second time", () => {
    let q = offerFreedMachine(queueOf("a", "b"), "m1", T0, WINDOW).queue;
    let now = T0 + WINDOW * MINUTE_MS;
    q = expireOffers(q, now, WINDOW).queue; // a → back, b offered
    expect(order(q)).toEqual(["b", "a"]);
    q = claim(q, "b", "m1", now).queue;
    q = offerFreedMachine(q, "m2", now, WINDOW).queue; // a offered again
    now += WINDOW * MINUTE_MS;
    const r = expireOffers(q, now, WINDOW);
    expect(r.expired).toEqual([expect.objectContaining({ uid: "a", outcome: "removed" })]);
    expect(r.offers).toEqual([]);
    expect(r.queue.entries).toEqual([]);
  });

  it("gives a lone user a second window on the same machine, then lets them go", () => {
    let q = offerFreedMachine(queueOf("a"), "m1", T0, WINDOW).queue;
    const first = expireOffers(q, T0 + WINDOW * MINUTE_MS, WINDOW);
    expect(first.offers).toEqual([expect.objectContaining({ uid: "a", machineId: "m1" })]);
    q = first.queue;
    const second = expireOffers(q, T0 + 2 * WINDOW * MINUTE_MS, WINDOW);
    expect(second.expired[0]?.outcome).toBe("removed");
    expect(second.queue.entries).toEqual([]);
  });

  it("expires several offers at once in queue order, each machine going to the next in line", () => {
    let q = queueOf("a", "b", "c");
    q = offerFreedMachine(q, "m1", T0, WINDOW).queue;
    q = offerFreedMachine(q, "m2", T0 + MINUTE_MS, WINDOW).queue;
    const r = expireOffers(q, T0 + 11 * MINUTE_MS, WINDOW);
    expect(r.expired.map((x) => x.uid)).toEqual(["a", "b"]);
    expect(order(r.queue)).toEqual(["c", "a", "b"]);
    expect(r.offers.map((o) => [o.uid, o.machineId])).toEqual([
      ["c", "m1"],
      ["a", "m2"],
    ]);
  });

  it("only expires offers whose window has closed", () => {
    let q = queueOf("a", "b", "c");
    q = offerFreedMachine(q, "m1", T0, WINDOW).queue;
    q = offerFreedMachine(q, "m2", T0 + 5 * MINUTE_MS, WINDOW).queue;
    const r = expireOffers(q, T0 + 10 * MINUTE_MS, WINDOW);
    expect(r.expired.map((x) => x.machineId)).toEqual(["m1"]);
    expect(entryOf(r.queue, "b")?.offer?.machineId).toBe("m2");
  });

  it("is idempotent: a second run with the same clock changes nothing", () => {
    const q = offerFreedMachine(queueOf("a", "b", "c"), "m1", T0, WINDOW).queue;
    const now = T0 + 12 * MINUTE_MS;
    const once = expireOffers(q, now, WINDOW);
    const twice = expireOffers(once.queue, now, WINDOW);
    expect(twice).toEqual({ queue: once.queue, expired: [], offers: [] });
    expect(twice.queue).toBe(once.queue);
  });
});

describe("expected wait", () => {
  const washer = (
    machineId: string,
    status: WaitMachine["status"],
    expectedEndAt: number | null,
  ): WaitMachine => ({ machineId, type: "washer", status, expectedEndAt, cycleMinutes: 50 });

  it("waits for the k-th machine to free up", () => {
    const q = queueOf("a", "b", "c");
    const machines = [
      washer("1", "WASHING", T0 + 20 * MINUTE_MS),
      washer("2", "SPINNING", T0 + 7 * MINUTE_MS + 1),
    ];
    expect(expectedWaitMinutes(q, "a", machines, T0)).toBe(8);
    expect(expectedWaitMinutes(q, "b", machines, T0)).toBe(20);
    // The third waits for the first machine to run a cycle for the first user.
    expect(expectedWaitMinutes(q, "c", machines, T0)).toBe(58);
  });

  it("counts a free machine that is not on offer as no wait", () => {
    const q = queueOf("a", "b");
    const machines = [washer("1", "FINISHED", null), washer("2", "WASHING", T0 + 30 * MINUTE_MS)];
    expect(expectedWaitMinutes(q, "a", machines, T0)).toBe(0);
    expect(expectedWaitMinutes(q, "b", machines, T0)).toBe(30);
  });

  it("treats a machine on offer as taken, and its holder as served", () => {
    const q = offerFreedMachine(queueOf("a", "b"), "1", T0, WINDOW).queue;
    const machines = [washer("1", "FINISHED", null), washer("2", "WASHING", T0 + 30 * MINUTE_MS)];
    expect(expectedWaitMinutes(q, "a", machines, T0)).toBe(0);
    expect(expectedWaitMinutes(q, "b", machines, T0)).toBe(30);
  });

  it("never goes negative for a cycle past its expected end", () => {
    const q = queueOf("a");
    const machines = [washer("1", "WASHING", T0 - 5 * MINUTE_MS)];
    expect(expectedWaitMinutes(q, "a", machines, T0)).toBe(0);
  });

  it("leaves out broken machines and is unknown when none is usable", () => {
    const q = queueOf("a");
    const broken = { ...washer("1", "OFF", null), outOfOrder: true };
    expect(expectedWaitMinutes(q, "a", [broken], T0)).toBeNull();
    expect(expectedWaitMinutes(q, "zed", [washer("2", "OFF", null)], T0)).toBeNull();
  });

  it("assumes a full cycle from now when a running machine has no estimate", () => {
    const q = queueOf("a");
    const dryer: WaitMachine = {
      machineId: "5",
      type: "dryer",
      status: "DRYING",
      expectedEndAt: null,
    };
    expect(expectedWaitMinutes(q, "a", [dryer], T0)).toBe(60);
  });
});

// ---------------------------------------------------------------------------------------------
// Property: any sequence of operations keeps the queue's invariants.

type Op =
  | { op: "join"; uid: string }
  | { op: "leave"; uid: string }
  | { op: "offer"; machineId: string }
  | { op: "claim"; uid: string; machineId: string | undefined }
  | { op: "start"; machineId: string }
  | { op: "withdraw"; machineId: string }
  | { op: "expire" }
  | { op: "wait"; ms: number };

const uidArb = fc.constantFrom("u1", "u2", "u3", "u4", "u5", "u6");
const machineArb = fc.constantFrom("m1", "m2", "m3");
// Joins and offers weigh more, so queues grow long enough for offers to pile up and expire.
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant("join" as const), uid: uidArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("leave" as const), uid: uidArb }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("offer" as const), machineId: machineArb }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("claim" as const),
      uid: uidArb,
      machineId: fc.option(machineArb, { nil: undefined }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("start" as const), machineId: machineArb }) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant("withdraw" as const), machineId: machineArb }),
  },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("expire" as const) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("wait" as const),
      ms: fc.integer({ min: 0, max: 15 * MINUTE_MS }),
    }),
  },
);

function checkInvariants(q: RoomQueue, now: number, window: number): void {
  const uids = order(q);
  expect(new Set(uids).size).toBe(uids.length);
  const machines = activeOffers(q).map((o) => o.machineId);
  expect(new Set(machines).size).toBe(machines.length);
  uids.forEach((uid, i) => expect(position(q, uid)).toBe(i + 1));
  for (let i = 1; i < q.entries.length; i++) {
    expect(q.entries[i].joinedAt).toBeGreaterThanOrEqual(q.entries[i - 1].joinedAt);
  }
  for (const e of q.entries) {
    expect(e.passes).toBeGreaterThanOrEqual(0);
    expect(e.passes).toBeLessThanOrEqual(MAX_PASSES);
    if ("offer" in e) {
      expect(e.offer).toBeDefined();
      expect(e.offer!.expiresAt - e.offer!.offeredAt).toBe(window * MINUTE_MS);
      expect(e.offer!.offeredAt).toBeLessThanOrEqual(now);
    }
  }
}

/**
 * Offers running before the step are still there, unchanged, unless the step ended them
 * (`ended`: the machines whose offers were claimed, withdrawn, expired or left with their holder).
 */
function checkOffersKept(before: RoomQueue, after: RoomQueue, ended: ReadonlySet<string>): void {
  const now = new Map(activeOffers(after).map((o) => [o.machineId, o]));
  for (const o of activeOffers(before)) {
    if (!ended.has(o.machineId)) expect(now.get(o.machineId)).toEqual(o);
  }
}

/** New offers went, in order, to the first users without an offer in `q`. */
function checkOffersWentToHead(q: RoomQueue, offers: readonly { uid: string }[]): void {
  const waiting = q.entries.filter((e) => !e.offer).map((e) => e.uid);
  expect(offers.map((o) => o.uid)).toEqual(waiting.slice(0, offers.length));
}

/** Users present before and after, minus those moved to the back, keep their relative order. */
function checkOrderKept(before: RoomQueue, after: RoomQueue, moved: readonly string[]): void {
  const movedSet = new Set(moved);
  const afterIds = order(after);
  const afterSet = new Set(afterIds);
  const beforeSet = new Set(order(before));
  const kept = order(before).filter((u) => afterSet.has(u) && !movedSet.has(u));
  expect(afterIds.filter((u) => kept.includes(u))).toEqual(kept);
  // Newcomers and users moved to the back come after everyone who kept their place.
  const tail = afterIds.slice(kept.length);
  expect(afterIds.slice(0, kept.length)).toEqual(kept);
  expect(tail.every((u) => movedSet.has(u) || !beforeSet.has(u))).toBe(true);
}

describe("queue properties", () => {
  it("keeps its invariants and FIFO order under any sequence of operations", () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { maxLength: 100 }),
        fc.integer({ min: 1, max: 15 }),
        (ops, window) => {
          let q = EMPTY_QUEUE;
          let now = T0;
          for (const o of ops) {
            const before = q;
            let moved: string[] = [];
            const ended = new Set<string>();
            switch (o.op) {
              case "join":
                q = join(q, o.uid, now).queue;
                break;
              case "leave": {
                const r = leave(q, o.uid);
                q = r.queue;
                if (r.released) ended.add(r.released.machineId);
                break;
              }
              case "offer": {
                const r = offerFreedMachine(q, o.machineId, now, window);
                q = r.queue;
                checkOffersWentToHead(before, r.offer ? [r.offer] : []);
                break;
              }
              case "claim": {
                const r = claim(q, o.uid, o.machineId, now);
                q = r.queue;
                if (r.ok) ended.add(r.claimed.machineId);
                break;
              }
              case "start":
                q = claimByMachineStart(q, o.machineId, now).queue;
                ended.add(o.machineId);
                break;
              case "withdraw":
                q = withdrawOffer(q, o.machineId).queue;
                ended.add(o.machineId);
                break;
              case "expire": {
                const r = expireOffers(q, now, window);
                q = r.queue;
                r.expired.forEach((x) => ended.add(x.machineId));
                moved = r.expired.filter((x) => x.outcome === "requeued").map((x) => x.uid);
                // The machines passed on went to the first in line without an offer.
                const beforeNewOffers = {
                  entries: q.entries.map((e) =>
                    r.offers.some((n) => n.uid === e.uid) ? { ...e, offer: undefined } : e,
                  ),
                };
                checkOffersWentToHead(beforeNewOffers, r.offers);
                // Every expired machine went to someone, unless everyone already holds an offer.
                for (const x of r.expired) {
                  const reoffered = activeOffers(q).some((a) => a.machineId === x.machineId);
                  expect(reoffered || q.entries.every((e) => e.offer)).toBe(true);
                }
                expect(activeOffers(q).every((a) => a.expiresAt > now)).toBe(true);
                // Idempotent for the same clock.
                const again = expireOffers(q, now, window);
                expect(again.queue).toBe(q);
                expect(again.expired).toEqual([]);
                expect(again.offers).toEqual([]);
                break;
              }
              case "wait":
                now += o.ms;
                break;
            }
            checkInvariants(q, now, window);
            checkOffersKept(before, q, ended);
            checkOrderKept(before, q, moved);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("gives the same result whether expiry runs once or twice at the same time", () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { maxLength: 40 }),
        fc.integer({ min: 0, max: 40 * MINUTE_MS }),
        (ops, later) => {
          let q = EMPTY_QUEUE;
          let now = T0;
          for (const o of ops) {
            if (o.op === "join") q = join(q, o.uid, now).queue;
            else if (o.op === "offer") q = offerFreedMachine(q, o.machineId, now, WINDOW).queue;
            else if (o.op === "wait") now += o.ms;
          }
          const at = now + later;
          const once = expireOffers(q, at, WINDOW);
          const twice = expireOffers(once.queue, at, WINDOW);
          expect(twice.queue).toEqual(once.queue);
          expect(twice.expired).toEqual([]);
          expect(twice.offers).toEqual([]);
        },
      ),
      { numRuns: 200 },
    );
  });
});
