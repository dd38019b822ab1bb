/**
 * Benchmark of the scheduled tick: `rooms` rooms × `machinesPerRoom` running machines, one tick
 * against the local Firestore (or FIRESTORE_EMULATOR_HOST), then the next minute and a repeat
 * of that minute. Reports elapsed ms and the reads/writes the tick issued (its own counters: a
 * query that returns nothing counts one read). Nothing is asserted.
 *
 *   npx tsx tools/bench/tick.ts [rooms] [machinesPerRoom] [share running, default 1]
 *
 * `benchTick()` is what the benchmark runner calls. Data goes to a project of its own
 * (`demo-washcall-bench-tick-<run>`), so a shared emulator's demo data is never touched.
 */
import { type App, deleteApp, initializeApp } from "firebase-admin/app";
import { type Firestore, Timestamp, getFirestore } from "firebase-admin/firestore";
import path from "node:path";
import { readSettings } from "../../functions/src/config";
import { type TickReport, runTick } from "../../functions/src/scheduled/tick";
import { startFirestore } from "../stack/firestore";

const MIN = 60_000;
const BENCH_PROJECT = "demo-washcall-bench-tick";

export interface BenchTickOptions {
  rooms: number;
  machinesPerRoom: number;
  /** Share of the machines running (the rest idle, FINISHED); 1 when absent. */
  running?: number;
  /** Use this Firestore instead of starting one (its data is added to, not cleared). */
  db?: Firestore;
}

export interface TickFigures {
  elapsedMs: number;
  reads: number;
  writes: number;
  roomsWritten: number;
  skipped: boolean;
}

export interface BenchTickResult {
  rooms: number;
  machines: number;
  runningMachines: number;
  seedMs: number;
  /** The first tick: every room's timers appear. */
  first: TickFigures;
  /** The next minute: every room's minutes change, so every room is written again. */
  nextMinute: TickFigures;
  /** The same minute delivered again: one marker read, no writes. */
  repeat: TickFigures;
}

async function seed(db: Firestore, rooms: number, perRoom: number, running: number, start: number) {
  const docs: { path: string; data: Record<string, unknown> }[] = [];
  // Every (1 / running)-th machine runs, so running machines spread over the rooms.
  const every = Math.max(1, Math.round(1 / running));
  let runningMachines = 0;
  for (let r = 1; r <= rooms; r++) {
    docs.push({ path: `rooms/${r}`, data: { name: `Room ${r}`, timers: {}, timersAt: null } });
    for (let i = 1; i <= perRoom; i++) {
      const id = String((r - 1) * perRoom + i);
      const dryer = i > perRoom * 0.7;
      // Spread starts over 40 minutes so rooms hold a mix of remaining times.
      const startedAt = start - ((r * 7 + i * 3) % 40) * MIN;
      const runs = (Number(id) - 1) % every === 0;
      if (runs) runningMachines += 1;
      docs.push({
        path: `machines/${id}`,
        data: {
          roomId: String(r),
          name: `${dryer ? "건조기" : "세탁기"} ${id}`,
          type: dryer ? "dryer" : "washer",
          status: runs ? (dryer ? "DRYING" : "WASHING") : "FINISHED",
          course: null,
          cycleStartedAt: runs ? Timestamp.fromMillis(startedAt) : null,
          spinStartedAt: null,
          expectedEndAt: runs ? Timestamp.fromMillis(startedAt + (dryer ? 60 : 50) * MIN) : null,
          // As the report trigger leaves a started cycle: timed with its course's figures.
          courseEstimate: runs ? benchEstimate(dryer ? "dryer" : "washer", startedAt) : null,
          lastSeenAt: Timestamp.fromMillis(start),
          online: true,
        },
      });
    }
  }
  for (let i = 0; i < docs.length; i += 500) {
    const batch = db.batch();
    for (const d of docs.slice(i, i + 500)) batch.set(db.doc(d.path), d.data);
    await batch.commit();
  }
  return runningMachines;
}

/** The figures a started cycle carries (`machines/{id}.courseEstimate`, store/applyReport.ts). */
export function benchEstimate(type: "washer" | "dryer", cycleStartedAt: number) {
  const total = type === "dryer" ? 60 : 50;
  return {
    type,
    course: "standard",
    samples: 20,
    avgTotalMinutes: total,
    avgWashMinutes: type === "dryer" ? null : total - 10,
    avgSpinMinutes: type === "dryer" ? null : 10,
    lowMinutes: total * 0.9,
    highMinutes: total * 1.1,
    cycleStartedAt: Timestamp.fromMillis(cycleStartedAt),
  };
}

async function timed(db: Firestore, at: number): Promise<TickFigures> {
  const t = process.hrtime.bigint();
  const r: TickReport = await runTick({ db, settings: readSettings() }, at);
  return {
    elapsedMs: Math.round(Number(process.hrtime.bigint() - t) / 1e5) / 10,
    reads: r.counters.reads,
    writes: r.counters.writes,
    roomsWritten: r.roomsWritten,
    skipped: r.skipped,
  };
}

export async function benchTick(opts: BenchTickOptions): Promise<BenchTickResult> {
  let app: App | null = null;
  let stop = () => undefined as unknown;
  let db = opts.db;
  if (!db) {
    const fs = await startFirestore(0);
    stop = () => fs.stop();
    // A project per run: a shared emulator may hold an earlier run's data (and tick markers).
    const run = `${process.pid}-${Date.now()}`;
    app = initializeApp({ projectId: `${BENCH_PROJECT}-${run}` }, `bench-tick-${run}`);
    db = getFirestore(app);
  }
  try {
    // A fixed minute, so repeated runs compare like with like.
    const start = Date.UTC(2026, 10, 16, 1, 0);
    const t = process.hrtime.bigint();
    const runningMachines = await seed(
      db,
      opts.rooms,
      opts.machinesPerRoom,
      opts.running ?? 1,
      start,
    );
    const seedMs = Math.round(Number(process.hrtime.bigint() - t) / 1e6);
    const first = await timed(db, start + MIN);
    const nextMinute = await timed(db, start + 2 * MIN);
    const repeat = await timed(db, start + 2 * MIN);
    return {
      rooms: opts.rooms,
      machines: opts.rooms * opts.machinesPerRoom,
      runningMachines,
      seedMs,
      first,
      nextMinute,
      repeat,
    };
  } finally {
    if (app) await deleteApp(app);
    stop();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(__filename)) {
  const rooms = Number(process.argv[2] ?? 200);
  const machinesPerRoom = Number(process.argv[3] ?? 10);
  const running = Number(process.argv[4] ?? 1);
  benchTick({ rooms, machinesPerRoom, running })
    .then((r) => {
      console.log(JSON.stringify(r, null, 2));
      process.exit(0);
    })
    .catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
}
