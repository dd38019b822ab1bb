/**
 * The simulated laundry room as data: for each virtual machine, the reports and heartbeats it
 * sends over a span of virtual time, in the order they are delivered, and the cycles it really
 * completed (the ground truth the server's statistics are checked against).
 *
 * Pure and deterministic: the same options give the same plan. No clock, no Math.random: the
 * span is passed in and randomness comes from a seeded mulberry32 per machine (so adding a
 * machine does not change the others' timelines).
 *
 * The ground truth uses the server's definitions (functions/src/domain/cycle.ts foldReports):
 * total = first start → FINISHED, wash = start → start of the final spin, spin = final spin →
 * FINISHED, rounded minutes; dryers have wash/spin null. A cycle counts only if its FINISHED was
 * delivered (before the span's end and before the machine went silent).
 */
import { type Magnitudes, cycleId } from "../../functions/src/domain/cycle";
import {
  type DeviceStatus,
  type MachineStatus,
  type MachineType,
  normalizeStatus,
} from "../../functions/src/domain/status";
import { kstParts, minutesBetween } from "../../functions/src/domain/time";

// ---------------------------------------------------------------------------------------------
// Seeded randomness
// ---------------------------------------------------------------------------------------------

/** mulberry32: a tiny, fast, seedable PRNG giving floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a of a string mixed with a seed: one independent stream per machine. */
export function deriveSeed(seed: number, key: string): number {
  let h = (0x811c9dc5 ^ (seed >>> 0)) >>> 0;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

class Rng {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  float(): number {
    return this.next();
  }
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }
  int(lo: number, hi: number): number {
    return Math.floor(this.uniform(lo, hi + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  /** Normal(0, 1), Box–Muller. */
  gauss(): number {
    const u = Math.max(this.next(), 1e-12);
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  /** A factor 1 + N(0, sd), clipped to ±3 sd. */
  noise(sd: number): number {
    return 1 + Math.max(-3, Math.min(3, this.gauss())) * sd;
  }
  exponential(mean: number): number {
    return -mean * Math.log(Math.max(1 - this.next(), 1e-12));
  }
  weighted<T extends { weight: number }>(items: readonly T[]): T {
    const total = items.reduce((s, i) => s + i.weight, 0);
    let x = this.next() * total;
    for (const item of items) {
      x -= item.weight;
      if (x < 0) return item;
    }
    return items[items.length - 1];
  }
}

// ---------------------------------------------------------------------------------------------
// Courses
// ---------------------------------------------------------------------------------------------

export interface WasherCourse {
  name: string;
  weight: number;
  /** Mean minutes from start to FINISHED. */
  totalMinutes: number;
  /** Mean minutes of the final spin. */
  finalSpinMinutes: number;
  /** Intermediate spin + rinse rounds before the final spin. */
  rinses: number;
}

export interface DryerCourse {
  name: string;
  weight: number;
  totalMinutes: number;
}

export const WASHER_COURSES: readonly WasherCourse[] = [
  { name: "표준", weight: 0.5, totalMinutes: 45, finalSpinMinutes: 10, rinses: 2 },
  { name: "쾌속", weight: 0.25, totalMinutes: 30, finalSpinMinutes: 7, rinses: 1 },
  { name: "울", weight: 0.15, totalMinutes: 40, finalSpinMinutes: 5, rinses: 1 },
  { name: "이불", weight: 0.1, totalMinutes: 60, finalSpinMinutes: 12, rinses: 2 },
];

export const DRYER_COURSES: readonly DryerCourse[] = [
  { name: "표준건조", weight: 0.75, totalMinutes: 60 },
  { name: "쾌속건조", weight: 0.25, totalMinutes: 40 },
];

// ---------------------------------------------------------------------------------------------
// Plan types
// ---------------------------------------------------------------------------------------------

export interface ModelMachine {
  /** Decimal string id, e.g. "5". */
  id: string;
  type: MachineType;
}

export interface ModelOptions {
  machines: readonly ModelMachine[];
  /** Virtual start, Unix seconds. Every device timestamp lies in [startSec, startSec + span]. */
  startSec: number;
  spanMinutes: number;
  seed: number;
  /** Share of update reports that are sent a second time, byte for byte. Default 0.04. */
  duplicateRate?: number;
  /** Share of update reports delivered after their successor (neighbours swapped). Default 0.04. */
  outOfOrderRate?: number;
  /** Virtual minutes between heartbeats (with ±20 % jitter); 0 = none. Default 5. */
  heartbeatMinutes?: number;
  /** Chance per idle gap of an EXT_VIBE (someone bumped the machine). Default 0.15. */
  extVibeRate?: number;
  /** How many machines go silent part-way through. Default round(10 % of machines). */
  silentMachines?: number;
  /** Mean idle minutes between cycles in the daytime (nights are 4× longer). Default 35. */
  meanIdleMinutes?: number;
  /** Share of dryers whose firmware reports WASHING/SPINNING instead of DRYING. Default 0.5. */
  legacyDryerFirmwareRate?: number;
}

interface EventBase {
  machineId: string;
  /** Virtual time (Unix seconds, may be fractional) the event is due to be delivered. */
  deliverAt: number;
}

export interface PlannedUpdate extends EventBase {
  kind: "update";
  /** What the firmware sends (a dryer may say WASHING/SPINNING). */
  status: DeviceStatus;
  /** Device timestamp, whole Unix seconds. */
  timestamp: number;
  battery: number;
  /** Only with FINISHED. */
  magnitudes: Magnitudes | null;
  /** A byte-for-byte repeat of an earlier report. */
  duplicate: boolean;
  /** Delivered after a report with a newer timestamp. */
  outOfOrder: boolean;
}

export interface PlannedHeartbeat extends EventBase {
  kind: "heartbeat";
  battery: number;
  rssi: number;
  firmware: string;
}

export type PlannedEvent = PlannedUpdate | PlannedHeartbeat;

/** One completed cycle, by the server's definitions (epoch ms, rounded minutes). */
export interface TruthCycle {
  /** Same as the server's cycle id: `${machineId}-${finish timestamp}`. */
  id: string;
  machineId: string;
  type: MachineType;
  /** The course the simulated user picked (the server only knows it via /start_course). */
  course: string;
  startedAt: number;
  spinStartedAt: number | null;
  finishedAt: number;
  washMinutes: number | null;
  spinMinutes: number | null;
  totalMinutes: number;
  magnitudes: Magnitudes;
}

export interface MachinePlan {
  machine: ModelMachine;
  /** Delivery order (non-decreasing deliverAt). */
  events: PlannedEvent[];
  /** Completed cycles, oldest first. */
  cycles: TruthCycle[];
  /** Virtual Unix seconds from which the machine sends nothing; null if it never goes silent. */
  silentFrom: number | null;
  /** Dryer firmware that reports WASHING/SPINNING (stored as DRYING). */
  legacyDryerFirmware: boolean;
  /**
   * The machine's status after all delivered reports (normalised), as the server should show;
   * null when it sent no status report at all (the stored status is whatever it was).
   */
  finalStatus: MachineStatus | null;
}

export interface SimulationPlan {
  startSec: number;
  endSec: number;
  seed: number;
  machines: MachinePlan[];
}

// ---------------------------------------------------------------------------------------------
// Planning
// ---------------------------------------------------------------------------------------------

const MIN_REPORT_GAP_S = 20;
const FIRMWARE = "washcall-fw 1.4.2";

interface RawReport {
  status: DeviceStatus;
  timestamp: number;
  magnitudes: Magnitudes | null;
}

export function planSimulation(options: ModelOptions): SimulationPlan {
  const startSec = Math.floor(options.startSec);
  const endSec = startSec + Math.round(options.spanMinutes * 60);
  const silentCount = Math.min(
    options.machines.length,
    Math.max(0, Math.round(options.silentMachines ?? options.machines.length * 0.1)),
  );
  // Which machines go silent: a seeded shuffle of the ids, independent of the timelines.
  const order = new Rng(deriveSeed(options.seed, "silent"));
  const silentIds = new Set(
    options.machines
      .map((m) => ({ id: m.id, key: order.float() }))
      .sort((a, b) => a.key - b.key)
      .slice(0, silentCount)
      .map((m) => m.id),
  );
  return {
    startSec,
    endSec,
    seed: options.seed,
    machines: options.machines.map((m) =>
      planMachine(m, options, startSec, endSec, silentIds.has(m.id)),
    ),
  };
}

function planMachine(
  machine: ModelMachine,
  options: ModelOptions,
  startSec: number,
  endSec: number,
  goesSilent: boolean,
): MachinePlan {
  const rng = new Rng(deriveSeed(options.seed, `machine:${machine.id}`));
  const span = endSec - startSec;
  const meanIdle = options.meanIdleMinutes ?? 35;
  const extVibeRate = options.extVibeRate ?? 0.15;
  const legacyDryerFirmware =
    machine.type === "dryer" && rng.chance(options.legacyDryerFirmwareRate ?? 0.5);
  const silentFrom = goesSilent ? startSec + Math.round(span * rng.uniform(0.3, 0.9)) : null;
  const cutoff = silentFrom ?? endSec;

  // Battery drains slowly; the same function serves reports and heartbeats.
  const battery0 = rng.int(70, 100);
  const drainPerHour = rng.uniform(0.2, 1);
  const batteryAt = (t: number) =>
    Math.max(5, Math.round(battery0 - ((t - startSec) / 3600) * drainPerHour));

  // 1. The machine's life: idle gaps and cycles, each report at a distinct timestamp.
  const reports: RawReport[] = [];
  const cycles: TruthCycle[] = [];
  let t = startSec + Math.round(rng.uniform(0, 60) * 60);
  for (;;) {
    const cycle =
      machine.type === "washer" ? washerCycle(rng, t) : dryerCycle(rng, t, legacyDryerFirmware);
    for (const r of cycle.reports) if (r.timestamp <= endSec) reports.push(r);
    const finish = cycle.reports[cycle.reports.length - 1];
    if (finish.timestamp > endSec) break;
    if (finish.timestamp <= cutoff) cycles.push(truthCycle(machine, cycle));

    // Idle until the next cycle; nights (01–07 KST) are quieter.
    const hour = kstParts(finish.timestamp * 1000).hour;
    const night = hour >= 1 && hour < 7 ? 4 : 1;
    const idle = Math.round((3 + Math.min(rng.exponential(meanIdle * night), 6 * 60)) * 60);
    const next = finish.timestamp + Math.max(idle, 3 * MIN_REPORT_GAP_S);
    if (rng.chance(extVibeRate)) {
      const at = Math.round(
        rng.uniform(finish.timestamp + MIN_REPORT_GAP_S, next - MIN_REPORT_GAP_S),
      );
      if (at <= endSec) reports.push({ status: "EXT_VIBE", timestamp: at, magnitudes: null });
    }
    t = next;
    if (t > endSec) break;
  }

  // 2. Silence: nothing with a timestamp after the silence point is ever sent.
  const originals: PlannedUpdate[] = reports
    .filter((r) => r.timestamp <= cutoff)
    .map((r) => ({
      kind: "update",
      machineId: machine.id,
      deliverAt: r.timestamp,
      status: r.status,
      timestamp: r.timestamp,
      battery: batteryAt(r.timestamp),
      magnitudes: r.magnitudes,
      duplicate: false,
      outOfOrder: false,
    }));

  // 3. Out-of-order delivery: swap neighbours; the older one arrives just after the newer.
  const outOfOrderRate = options.outOfOrderRate ?? 0.04;
  for (let i = 0; i + 1 < originals.length; i++) {
    if (!rng.chance(outOfOrderRate)) continue;
    const older = originals[i];
    const newer = originals[i + 1];
    originals[i] = newer;
    originals[i + 1] = { ...older, deliverAt: newer.deliverAt, outOfOrder: true };
    i++; // a report is swapped at most once
  }

  // 4. Exact duplicates, delivered a few virtual seconds after the original.
  const duplicateRate = options.duplicateRate ?? 0.04;
  const updates: PlannedUpdate[] = [];
  for (const u of originals) {
    updates.push(u);
    if (!rng.chance(duplicateRate)) continue;
    const deliverAt = Math.min(u.deliverAt + rng.int(2, 20), cutoff, endSec);
    updates.push({ ...u, deliverAt: Math.max(deliverAt, u.deliverAt), duplicate: true });
  }

  // 5. Heartbeats every few virtual minutes while the machine is alive.
  const heartbeats: PlannedHeartbeat[] = [];
  const hbMinutes = options.heartbeatMinutes ?? 5;
  if (hbMinutes > 0) {
    let at = startSec + rng.uniform(0, hbMinutes * 60);
    while (at <= cutoff) {
      heartbeats.push({
        kind: "heartbeat",
        machineId: machine.id,
        deliverAt: Math.round(at),
        battery: batteryAt(at),
        rssi: rng.int(-90, -40),
        firmware: FIRMWARE,
      });
      at += hbMinutes * 60 * rng.uniform(0.8, 1.2);
    }
  }

  // Merge by delivery time; stable, so swapped and duplicate updates keep their order.
  const events: PlannedEvent[] = [...updates, ...heartbeats]
    .map((e, i) => ({ e, i }))
    .sort((a, b) => a.e.deliverAt - b.e.deliverAt || a.i - b.i)
    .map(({ e }) => e);

  return {
    machine,
    events,
    cycles,
    silentFrom,
    legacyDryerFirmware,
    finalStatus: finalStatus(machine.type, originals),
  };
}

interface GeneratedCycle {
  course: string;
  startedAt: number;
  finalSpinAt: number | null;
  reports: RawReport[];
}

/** WASHING, (SPINNING, WASHING rinse)×n, final SPINNING, FINISHED. */
function washerCycle(rng: Rng, t0: number): GeneratedCycle {
  const course = rng.weighted(WASHER_COURSES);
  const total = Math.round(course.totalMinutes * 60 * rng.noise(0.08));
  const finalSpin = Math.round(course.finalSpinMinutes * 60 * rng.noise(0.1));
  const washWindow = total - finalSpin;
  const reports: RawReport[] = [{ status: "WASHING", timestamp: t0, magnitudes: null }];
  // Intermediate spins and rinses inside the washing window, evenly spread with jitter.
  const rounds = rng.chance(0.8) ? course.rinses : 0;
  for (let k = 0; k < rounds; k++) {
    const slot = washWindow / (rounds + 1);
    const spinAt = t0 + Math.round(slot * (k + 1) * rng.uniform(0.85, 0.95));
    const rinseAt = spinAt + Math.round(rng.uniform(60, 180));
    const last = reports[reports.length - 1].timestamp;
    if (spinAt - last < MIN_REPORT_GAP_S || t0 + washWindow - rinseAt < 2 * MIN_REPORT_GAP_S)
      continue;
    reports.push({ status: "SPINNING", timestamp: spinAt, magnitudes: null });
    reports.push({ status: "WASHING", timestamp: rinseAt, magnitudes: null });
  }
  const spinAt = t0 + washWindow;
  reports.push({ status: "SPINNING", timestamp: spinAt, magnitudes: null });
  reports.push({ status: "FINISHED", timestamp: t0 + total, magnitudes: magnitudes(rng) });
  return { course: course.name, startedAt: t0, finalSpinAt: spinAt, reports };
}

/** DRYING … FINISHED; legacy firmware says WASHING and sometimes SPINNING mid-way. */
function dryerCycle(rng: Rng, t0: number, legacy: boolean): GeneratedCycle {
  const course = rng.weighted(DRYER_COURSES);
  const total = Math.round(course.totalMinutes * 60 * rng.noise(0.1));
  const reports: RawReport[] = [
    { status: legacy ? "WASHING" : "DRYING", timestamp: t0, magnitudes: null },
  ];
  if (legacy && rng.chance(0.5)) {
    const mid = t0 + Math.round(total * rng.uniform(0.3, 0.7));
    reports.push({ status: "SPINNING", timestamp: mid, magnitudes: null });
  }
  reports.push({ status: "FINISHED", timestamp: t0 + total, magnitudes: magnitudes(rng) });
  return { course: course.name, startedAt: t0, finalSpinAt: null, reports };
}

function magnitudes(rng: Rng): Magnitudes {
  const r2 = (x: number) => Math.round(x * 100) / 100;
  return {
    washAvg: r2(rng.uniform(0.3, 0.6)),
    washMax: r2(rng.uniform(1.0, 1.6)),
    spinMax: r2(rng.uniform(1.8, 2.6)),
  };
}

function truthCycle(machine: ModelMachine, cycle: GeneratedCycle): TruthCycle {
  const finish = cycle.reports[cycle.reports.length - 1];
  const startedAt = cycle.startedAt * 1000;
  const finishedAt = finish.timestamp * 1000;
  const spinStartedAt =
    machine.type === "washer" && cycle.finalSpinAt !== null ? cycle.finalSpinAt * 1000 : null;
  return {
    id: cycleId(machine.id, finish.timestamp),
    machineId: machine.id,
    type: machine.type,
    course: cycle.course,
    startedAt,
    spinStartedAt,
    finishedAt,
    washMinutes: spinStartedAt === null ? null : minutesBetween(startedAt, spinStartedAt),
    spinMinutes: spinStartedAt === null ? null : minutesBetween(spinStartedAt, finishedAt),
    totalMinutes: minutesBetween(startedAt, finishedAt),
    magnitudes: finish.magnitudes!,
  };
}

/** The newest delivered report's normalised status decides what the machine shows. */
function finalStatus(
  type: MachineType,
  updates: readonly PlannedUpdate[],
): MachinePlan["finalStatus"] {
  let newest: PlannedUpdate | null = null;
  for (const u of updates) {
    if (u.status === "EXT_VIBE") continue;
    if (!newest || u.timestamp > newest.timestamp) newest = u;
  }
  if (!newest) return null;
  return normalizeStatus(type, newest.status) as MachineStatus;
}
