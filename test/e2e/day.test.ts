/**
 * A day in a 10-machine room, end to end: the device simulator drives 6 washers and 4 dryers
 * through 24 virtual hours against the local stack's `device` function (legacy secrets and JWTs,
 * duplicates, out-of-order reports, a machine that goes silent), while users call the `api`
 * function over HTTP: some watch a machine right after its cycle starts (one-shot `notify_me`,
 * one watches and changes their mind), some subscribe to the room, some queue for a machine
 * (`reserve`). At the end the server's statistics must equal those computed from the
 * simulator's own ground truth, every user must have exactly the notifications (inbox entries
 * and pushes, one per token) they asked for, and every queued user must have been offered a
 * machine. A short scripted tail after the day then checks the queue step by step: a freed
 * machine goes to the head of the line, a holder who leaves passes it on, a start claims it.
 *
 * Deterministic: fixed seed and a fixed day (Monday 2025-06-09 KST), so the plan, the truth and
 * the picks of watched cycles are the same on every run; only the interleaving differs.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gridToWeekdayTable } from "../../functions/src/domain/congestion";
import type { MachineType } from "../../functions/src/domain/status";
import { tokenId } from "../../functions/src/store/users";
import type { MachinePlan, TruthCycle } from "../../tools/simulator/model";
import {
  type SimMachine,
  type SimulationEvent,
  type SimulationLog,
  runSimulation,
} from "../../tools/simulator/simulator";
import { type TestUser, signUpUser } from "../support/auth";
import { expectedCongestion, expectedCourseStats } from "../support/statsOracle";
import {
  type E2eStack,
  addMachine,
  callApi,
  docsOf,
  postUpdate,
  resetStack,
  startE2eStack,
  waitFor,
} from "./support";

/** The span ends at Tuesday 2025-06-10 00:00 KST: the simulated day is Monday in Korea. */
const END_MS = Date.UTC(2025, 5, 9, 15, 0);
const SEED = 7;
/**
 * Hourly heartbeats and hour-long idle gaps keep each machine at most ~80 updates (its update
 * lane, rate-limited to one a second, is what the run's wall time is made of).
 */
const MODEL = { heartbeatMinutes: 60, meanIdleMinutes: 60 };

const TYPES: Record<string, MachineType> = {
  "1": "washer",
  "2": "washer",
  "3": "washer",
  "4": "washer",
  "5": "dryer",
  "6": "dryer",
  "7": "washer",
  "8": "washer",
  "9": "dryer",
  "10": "dryer",
};
const MACHINES: SimMachine[] = Object.entries(TYPES).map(([id, type]) => ({
  id,
  type,
  secret: `demo-secret-${id}`,
}));

interface Person {
  name: string;
  user: TestUser;
  tokens: string[];
  subscribesToRoom: boolean;
}

/** A watch the test places right after the cycle's first report is accepted. */
interface WatchPick {
  person: Person;
  machineId: string;
  cycleId: string;
  /** Device timestamp of the cycle's first report. */
  startTs: number;
  /** Watch, then take it back at once (`isusing: 0`): no notification expected. */
  cancel: boolean;
}

/**
 * Cycles of the machine that start cleanly: the first report is delivered in order and nothing
 * older arrives after it, so a watch placed then can only be consumed by this cycle's FINISHED.
 */
function cleanStarts(m: MachinePlan): TruthCycle[] {
  const updates = m.events.filter((ev) => ev.kind === "update");
  return m.cycles.filter((c) => {
    const t0 = c.startedAt / 1000;
    const i = updates.findIndex((u) => u.timestamp === t0 && !u.duplicate);
    return i >= 0 && !updates[i].outOfOrder && updates.slice(i + 1).every((u) => u.timestamp >= t0);
  });
}

/**
 * Who watches which cycles: on each given machine, the clean start number `from` (0-based,
 * default 0) and, with `every`, each `every`-th one after it.
 */
function pickWatches(
  plan: MachinePlan[],
  rules: { person: Person; machines: string[]; every?: number; from?: number; cancel?: boolean }[],
): WatchPick[] {
  const picks: WatchPick[] = [];
  for (const rule of rules) {
    for (const machineId of rule.machines) {
      const m = plan.find((p) => p.machine.id === machineId);
      if (!m) throw new Error(`no machine ${machineId} in the plan`);
      cleanStarts(m).forEach((c, i) => {
        const k = i - (rule.from ?? 0);
        if (k < 0 || (rule.every === undefined ? k > 0 : k % rule.every !== 0)) return;
        picks.push({
          person: rule.person,
          machineId,
          cycleId: c.id,
          startTs: c.startedAt / 1000,
          cancel: rule.cancel ?? false,
        });
      });
    }
  }
  return picks;
}

const ms = (v: unknown): number | null =>
  v && typeof (v as { toMillis?: unknown }).toMillis === "function"
    ? (v as { toMillis(): number }).toMillis()
    : null;

let e: E2eStack;

const queueDoc = () => e.db.collection("queues").doc("1");

interface QueueEntryDoc {
  uid: string;
  offer?: { machineId: string; offeredAt: number; expiresAt: number };
}

async function queueEntries(): Promise<QueueEntryDoc[]> {
  return ((await queueDoc().get()).get("entries") as QueueEntryDoc[] | undefined) ?? [];
}

interface InboxItem {
  id: string;
  type: string;
  machineId: string;
  cycleId?: string;
  offeredAt?: number | null;
}

async function inboxOf(p: Person): Promise<InboxItem[]> {
  const docs = await docsOf(e.db.collection("users").doc(p.user.uid).collection("notifications"));
  return [...docs]
    .map(([id, n]) => ({
      id,
      type: n.type as string,
      machineId: n.machineId as string,
      ...(n.type === "queue_offer"
        ? { offeredAt: ms(n.offeredAt) }
        : { cycleId: n.cycleId as string }),
    }))
    .sort((a, b) => a.id.localeCompare(b.id));
}

/** "notificationId tokenHash" of every push to the person, sorted. */
async function pushesTo(p: Person): Promise<string[]> {
  const outbox = await docsOf(e.db.collection("outbox").where("uid", "==", p.user.uid));
  return [...outbox.values()].map((m) => `${m.data?.notificationId} ${m.tokenHash}`).sort();
}

/** The pushes due for these inbox entries: one per entry and device token. */
function pushesDue(p: Person, notificationIds: readonly string[]): string[] {
  return notificationIds.flatMap((id) => p.tokens.map((t) => `${id} ${tokenId(t)}`)).sort();
}

beforeAll(async () => {
  e = await startE2eStack();
});

afterAll(async () => {
  await e?.stop();
});

async function newPerson(name: string, tokens: number, subscribesToRoom: boolean) {
  const p: Person = {
    name,
    user: await signUpUser(name),
    tokens: Array.from({ length: tokens }, (_, i) => `e2e-${name}-token-${i + 1}`),
    subscribesToRoom,
  };
  for (const token of p.tokens) {
    await callApi(e, p.user, "POST", "/set_fcm_token", { fcm_token: token });
  }
  if (subscribesToRoom) await callApi(e, p.user, "POST", "/device_subscribe", { room_id: 1 });
  return p;
}

const reserve = (p: Person, isreserved: 0 | 1) =>
  callApi(e, p.user, "POST", "/reserve", { room_id: 1, isreserved });

/** Resolves once the machine's trigger has applied its report with this device timestamp. */
const applied = (machineId: string, timestamp: number) =>
  waitFor(`report ${machineId}@${timestamp} applied`, async () => {
    const doc = await e.db.collection("machines").doc(machineId).get();
    const newest: unknown = doc.get("newestReportTs");
    return typeof newest === "number" && newest >= timestamp;
  });

describe("a day in a 10-machine room", () => {
  it("statistics match the simulator's ground truth, every user gets exactly the notifications asked for, no queue offer is lost", async () => {
    const startedAt = Date.now();
    await resetStack(e);
    await addMachine(e, 7, "washer");
    await addMachine(e, 8, "washer");
    await addMachine(e, 9, "dryer");
    await addMachine(e, 10, "dryer");

    // alice watches; bob watches and subscribes; carol subscribes; dave watches and takes it
    // back; erin watches without any device token (inbox only). frank and grace queue before
    // the day starts, heidi late in the run (at washer 4's 7th clean start).
    const alice = await newPerson("alice", 1, false);
    const bob = await newPerson("bob", 2, true);
    const carol = await newPerson("carol", 1, true);
    const dave = await newPerson("dave", 1, false);
    const erin = await newPerson("erin", 0, false);
    const frank = await newPerson("frank", 1, false);
    const grace = await newPerson("grace", 2, false);
    const heidi = await newPerson("heidi", 1, false);
    const watchersAndSubscribers = [alice, bob, carol, dave, erin];
    const dayQueue = [frank, grace, heidi];
    const joinedAt = new Map<Person, number>();
    const join = async (p: Person) => {
      joinedAt.set(p, Date.now());
      await reserve(p, 1);
    };

    let picks: WatchPick[] = [];
    let heidiJoinsAt: WatchPick | undefined;
    const placed: WatchPick[] = [];

    const onEvent = async (ev: SimulationEvent) => {
      if (ev.type === "start") {
        picks = pickWatches(ev.plan.machines, [
          { person: alice, machines: ["1", "5", "8"], every: 2 },
          { person: bob, machines: ["2", "10"], every: 3 },
          // The same cycle as alice's first on machine 8: two watchers of one FINISHED.
          { person: bob, machines: ["8"] },
          { person: erin, machines: ["4", "6"], from: 1 },
          { person: dave, machines: ["3"], every: 4, cancel: true },
        ]);
        heidiJoinsAt = pickWatches(ev.plan.machines, [
          { person: heidi, machines: ["4"], from: 6 },
        ])[0];
        await join(frank);
        await join(grace);
        return;
      }
      if (ev.type !== "sent") return;
      const r = ev.report;
      if (r.kind !== "update" || r.duplicate || !r.ok || r.timestamp === null) return;
      const ts = r.timestamp;
      const at = (p: WatchPick | undefined) => p?.machineId === r.machineId && p.startTs === ts;
      const due = picks.filter(at);
      if (at(heidiJoinsAt)) await join(heidi);
      if (due.length === 0) return;
      // The trigger runs after the HTTP answer: wait until the stack is idle, so this report and
      // everything sent before it (the previous FINISHED included) has been applied and settled.
      // (The machine's newestReportTs is no such barrier: on a busy machine the trigger backlog
      // grows, and an out-of-order report can move it past this one before this one is applied.)
      await e.stack.dispatcher.idle();
      await applied(r.machineId, ts);
      for (const pick of due) {
        const body = { machine_id: Number(pick.machineId), isusing: 1 };
        await callApi(e, pick.person.user, "POST", "/notify_me", body);
        if (pick.cancel) {
          await callApi(e, pick.person.user, "POST", "/notify_me", { ...body, isusing: 0 });
        }
        placed.push(pick);
      }
    };

    const simStart = Date.now();
    const log: SimulationLog = await runSimulation({
      baseUrl: e.stack.deviceUrl,
      machines: MACHINES,
      spanMinutes: 24 * 60,
      speed: "max",
      seed: SEED,
      endMs: END_MS,
      model: MODEL,
      onEvent,
    });
    const simMs = Date.now() - simStart;
    await e.stack.dispatcher.idle();
    const backlogMs = Date.now() - simStart - simMs;
    const truth = log.cycles;
    const perMachine = log.machines.map(
      (m) => log.reports.filter((x) => x.machineId === m.id).length,
    );
    console.log(
      `[e2e day] ${log.summary.sent} requests (${log.summary.updates} updates, ` +
        `${log.summary.heartbeats} heartbeats; ${Math.min(...perMachine)}–` +
        `${Math.max(...perMachine)} per machine; ${log.summary.duplicates} duplicates, ` +
        `${log.summary.outOfOrder} out of order, ${log.summary.retried429} 429s retried), ` +
        `${truth.length} cycles, ${placed.length} watches: simulation ` +
        `${(simMs / 1000).toFixed(1)} s, trigger backlog after it ${(backlogMs / 1000).toFixed(1)} s`,
    );

    // The run itself: everything planned was sent and accepted, every delivery succeeded, and
    // the day exercised what it is meant to.
    expect(log.summary.failed).toBe(0);
    expect(log.summary.sent).toBe(log.summary.planned);
    expect(e.deliveryErrors).toEqual([]);
    expect(log.summary.duplicates).toBeGreaterThan(0);
    expect(log.summary.outOfOrder).toBeGreaterThan(0);
    expect(log.machines.some((m) => m.silentFrom !== null)).toBe(true);
    expect(new Set(truth.map((c) => c.type))).toEqual(new Set(["washer", "dryer"]));
    expect(placed.map((p) => `${p.person.name}:${p.cycleId}`).sort()).toEqual(
      picks.map((p) => `${p.person.name}:${p.cycleId}`).sort(),
    );
    expect(placed.filter((p) => !p.cancel).length).toBeGreaterThanOrEqual(10);
    expect(placed.some((p) => p.cancel)).toBe(true);
    expect(joinedAt.has(heidi)).toBe(true);

    // (a) Statistics equal those computed from the simulator's log.
    const storedCycles = await docsOf(e.db.collection("cycles"));
    const asStored = [...storedCycles]
      .map(([id, c]) => ({
        id,
        machineId: c.machineId,
        roomId: c.roomId,
        type: c.type,
        course: c.course,
        startedAt: ms(c.startedAt),
        spinStartedAt: ms(c.spinStartedAt),
        finishedAt: ms(c.finishedAt),
        washMinutes: c.washMinutes,
        spinMinutes: c.spinMinutes,
        totalMinutes: c.totalMinutes,
        magnitudes: c.magnitudes,
      }))
      .sort((a, b) => a.id.localeCompare(b.id));
    const fromTruth = truth
      .map((c) => ({
        id: c.id,
        machineId: c.machineId,
        roomId: "1",
        type: c.type,
        // Nobody picked a course through /start_course, so the server records the default.
        course: "standard",
        startedAt: c.startedAt,
        spinStartedAt: c.spinStartedAt,
        finishedAt: c.finishedAt,
        washMinutes: c.washMinutes,
        spinMinutes: c.spinMinutes,
        totalMinutes: c.totalMinutes,
        magnitudes: c.magnitudes,
      }))
      .sort((a, b) => a.id.localeCompare(b.id));
    expect(asStored).toEqual(fromTruth);

    // Expected statistics from DESIGN.md's rules (test/support/statsOracle.ts), not the server's code.
    const roomCourses = (await e.db.doc("roomStats/1").get()).get("courses") as Record<
      string,
      { stats: Record<string, unknown> }
    >;
    const storedStats = Object.fromEntries(
      Object.entries(roomCourses).map(([id, c]) => {
        const { type: _type, course: _course, ...stats } = c.stats;
        return [id, stats];
      }),
    );
    expect(Object.keys(storedStats).sort()).toEqual(["dryer-standard", "washer-standard"]);
    for (const type of ["washer", "dryer"] as const) {
      const expected = expectedCourseStats(truth.filter((c) => c.type === type));
      const stored = storedStats[`${type}-standard`] as Record<string, number | null>;
      expect(stored.samples, type).toBe(expected?.samples);
      for (const [field, value] of Object.entries(expected ?? {})) {
        if (value === null || field === "samples")
          expect(stored[field], `${type} ${field}`).toBe(value);
        // One decimal each side: a different order of float operations may round the other way.
        else expect(stored[field], `${type} ${field}`).toBeCloseTo(value, 0.9);
      }
    }

    const congestion = await docsOf(e.db.collection("congestion"));
    expect([...congestion.keys()]).toEqual(["1"]);
    expect(gridToWeekdayTable([congestion.get("1")!])).toEqual(expectedCongestion(truth));
    expect(await callApi(e, carol.user, "GET", "/statistics/congestion?room_id=1")).toEqual(
      expectedCongestion(truth),
    );

    const machines = await docsOf(e.db.collection("machines"));
    expect(Object.fromEntries([...machines].map(([id, m]) => [id, m.status]))).toEqual(
      Object.fromEntries(log.machines.map((m) => [m.id, m.finalStatus ?? "OFF"])),
    );

    // (b) Notifications: one inbox entry per watched cycle (watchers) or per finished cycle
    // (room subscribers, "finished" when they also watched it), one push per token each, and no
    // watch left behind.
    const kept = placed.filter((p) => !p.cancel);
    const watched = (p: Person, cycleId: string) =>
      kept.some((w) => w.person === p && w.cycleId === cycleId);
    let pushes = 0;
    for (const p of watchersAndSubscribers) {
      const expected: InboxItem[] = truth
        .filter((c) => p.subscribesToRoom || watched(p, c.id))
        .map((c) => ({
          id: `finished-${c.id}`,
          type: watched(p, c.id) ? "finished" : "room_finished",
          machineId: c.machineId,
          cycleId: c.id,
        }))
        .sort((a, b) => a.id.localeCompare(b.id));
      expect(await inboxOf(p), `${p.name}'s inbox`).toEqual(expected);
      const user = await e.db.collection("users").doc(p.user.uid).get();
      expect(user.get("unreadCount") ?? 0, `${p.name}'s unreadCount`).toBe(expected.length);
      const due = pushesDue(
        p,
        expected.map((x) => x.id),
      );
      expect(await pushesTo(p), `${p.name}'s pushes`).toEqual(due);
      pushes += due.length;
    }
    expect((await e.db.collectionGroup("watchers").get()).size).toBe(0);
    // The inbox as the PWA reads it, over HTTP.
    const carolsInbox = await callApi(e, carol.user, "GET", "/notifications");
    expect(carolsInbox.unread_count).toBe(truth.length);

    // (c) The queue over the day: with ~90 machines freed, each queued user was offered exactly
    // one machine (announced once, one push per token), in the order they joined, and nobody is
    // left waiting without an offer. Whoever still stands in line holds that offer; the others
    // claimed theirs when the machine started again.
    const offers = new Map<Person, InboxItem>();
    for (const p of dayQueue) {
      const inbox = await inboxOf(p);
      expect(
        inbox.map((x) => x.type),
        `${p.name}'s inbox`,
      ).toEqual(["queue_offer"]);
      const offer = inbox[0];
      expect(Object.keys(TYPES)).toContain(offer.machineId);
      expect(offer.offeredAt).toBeGreaterThanOrEqual(joinedAt.get(p)!);
      offers.set(p, offer);
      const due = pushesDue(p, [offer.id]);
      expect(await pushesTo(p), `${p.name}'s pushes`).toEqual(due);
      pushes += due.length;
    }
    expect(offers.get(frank)!.offeredAt).toBeLessThanOrEqual(offers.get(grace)!.offeredAt!);
    const inLine = await queueEntries();
    for (const entry of inLine) {
      const p = dayQueue.find((x) => x.user.uid === entry.uid);
      expect(p, `queue entry ${entry.uid}`).toBeDefined();
      expect(entry.offer).toMatchObject({
        machineId: offers.get(p!)!.machineId,
        offeredAt: offers.get(p!)!.offeredAt,
      });
    }
    expect((await e.db.collection("outbox").get()).size).toBe(pushes);

    // (c, step by step) After the day, one machine at a time: two more users queue; a freed
    // machine is offered to the first of them (the head: the others in line hold offers); the
    // holder leaves and it passes to the next; a second freed machine finds nobody waiting
    // without an offer; the first machine starting again is the holder's claim.
    const ivan = await newPerson("ivan", 1, false);
    const judy = await newPerson("judy", 1, false);
    const ivanJoins = await reserve(ivan, 1);
    const judyJoins = await reserve(judy, 1);
    expect(ivanJoins).toMatchObject({ isreserved: 1, queue_position: inLine.length + 1 });
    expect(judyJoins).toMatchObject({ isreserved: 1, queue_position: inLine.length + 2 });

    const onOffer = new Set(inLine.map((x) => x.offer?.machineId));
    const [a, b] = log.machines
      .filter((m) => m.type === "washer" && m.silentFrom === null && !onOffer.has(m.id))
      .filter((m) => m.finalStatus === "FINISHED")
      .map((m) => m.id);
    expect(a && b, "two idle washers not on offer").toBeTruthy();
    const t0 = Math.floor(END_MS / 1000) + 60;
    const post = async (machineId: string, status: string, timestamp: number) => {
      const reply = await postUpdate(e, { machine_id: Number(machineId), status, timestamp });
      expect(reply.status, JSON.stringify(reply.body)).toBe(200);
      await e.stack.dispatcher.idle();
      await applied(machineId, timestamp);
    };
    const cycle = async (machineId: string, from: number) => {
      await post(machineId, "WASHING", from);
      await post(machineId, "FINISHED", from + 2400);
    };
    const offersOf = async (p: Person) =>
      (await inboxOf(p)).filter((x) => x.type === "queue_offer");

    await cycle(a, t0);
    const ivanOffer = await offersOf(ivan);
    expect(ivanOffer.map((x) => x.machineId)).toEqual([a]);
    expect(await offersOf(judy)).toEqual([]);
    expect(await pushesTo(ivan)).toEqual(pushesDue(ivan, [ivanOffer[0].id]));

    const ivanLeaves = await reserve(ivan, 0);
    expect(ivanLeaves).toMatchObject({ left: true, isreserved: 0 });
    const judyOffer = await offersOf(judy);
    expect(judyOffer.map((x) => x.machineId)).toEqual([a]);
    expect(await pushesTo(judy)).toEqual(pushesDue(judy, [judyOffer[0].id]));

    await cycle(b, t0);
    for (const p of [...dayQueue, ivan, judy]) {
      expect(await offersOf(p), `${p.name}'s offers`).toHaveLength(1);
    }
    await post(a, "WASHING", t0 + 3000);
    expect((await queueEntries()).map((x) => x.uid)).toEqual(inLine.map((x) => x.uid));
    expect(e.deliveryErrors).toEqual([]);

    console.log(`[e2e day] whole test ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
  }, 240_000);
});
