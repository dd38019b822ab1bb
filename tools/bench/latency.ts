/**
 * FINISHED → visible to a listener: from the moment a board sends its FINISHED report to the
 * moment a Firestore listener (as the PWA holds on `machines/`) sees the machine FINISHED, on the
 * local stack (device function → report trigger → listener). Two situations:
 *
 * - idle: one machine at a time, nothing else happening (20 samples);
 * - burst: 60 machines in 6 rooms of 10 (a building's laundry rooms) each send two full cycles
 *   (WASHING, SPINNING, FINISHED × 2 = 360 reports), all at once, each machine one report a second
 *   as the firmware does; every FINISHED of the burst is a sample (120).
 *
 * The dispatcher delivers the reports of one machine in order and machines in parallel
 * (tools/stack/dispatcher.ts), as Cloud Functions scales out per event.
 */
import { getFirestore } from "firebase-admin/firestore";
import { createMachine, createRoom } from "../../functions/src/store/machines";
import type { Stack } from "../stack/stack";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface LatencyFigures {
  samples: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
}

export interface FinishedLatency {
  idle: LatencyFigures;
  burst: LatencyFigures & { reports: number; machines: number; seconds: number };
}

function figures(latencies: number[]): LatencyFigures {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    samples: sorted.length,
    p50Ms: round(at(0.5)),
    p95Ms: round(at(0.95)),
    maxMs: round(sorted[sorted.length - 1] ?? 0),
  };
}

export async function measureFinishedLatency(
  stack: Stack,
  masterKey: string,
): Promise<FinishedLatency> {
  const db = getFirestore();
  const IDLE_MACHINES = 20;
  const BURST_MACHINES = 60;
  const ids = Array.from({ length: IDLE_MACHINES + BURST_MACHINES }, (_, i) => 7000 + i);
  // Idle samples in room 1; the burst's machines ten to a room (rooms 901–906).
  const roomOf = (i: number) => (i < IDLE_MACHINES ? "1" : String(901 + Math.floor((i - IDLE_MACHINES) / 10)));
  for (let r = 901; r <= 900 + BURST_MACHINES / 10; r++) await createRoom(db, String(r), `벤치 ${r}`);
  for (const [i, id] of ids.entries()) {
    await createMachine(
      db,
      { machineId: String(id), roomId: roomOf(i), name: `벤치 ${id}`, type: "washer", secret: `lat-${id}` },
      masterKey,
    );
  }
  await stack.dispatcher.idle();

  // The listener: when did each machine's FINISHED (by its report timestamp) first show?
  const seen = new Map<string, number>();
  const waiting = new Map<string, () => void>();
  const unsubscribe = db.collection("machines").onSnapshot((snap) => {
    const t = performance.now();
    for (const change of snap.docChanges()) {
      const d = change.doc.data();
      if (d.status !== "FINISHED") continue;
      const key = `${change.doc.id}-${String(d.newestReportTs)}`;
      if (seen.has(key)) continue;
      seen.set(key, t);
      waiting.get(key)?.();
    }
  });
  const visible = (key: string) =>
    seen.has(key) ? Promise.resolve() : new Promise<void>((r) => waiting.set(key, r));

  const post = async (id: number, status: string, timestamp: number) => {
    const sentAt = performance.now();
    const res = await fetch(`${stack.deviceUrl}/update`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ machine_id: id, secret_key: `lat-${id}`, status, timestamp }),
    });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`update ${id} ${status}: ${res.status}`);
    return sentAt;
  };

  try {
    const base = Math.floor(Date.now() / 1000) - 6 * 3600;
    const idle: number[] = [];
    for (const id of ids.slice(0, IDLE_MACHINES)) {
      await post(id, "WASHING", base);
      await stack.dispatcher.idle();
      await sleep(1100); // one report a second per machine
      const sentAt = await post(id, "FINISHED", base + 2400);
      await visible(`${id}-${base + 2400}`);
      idle.push(seen.get(`${id}-${base + 2400}`)! - sentAt);
      await stack.dispatcher.idle();
    }

    const burstIds = ids.slice(IDLE_MACHINES);
    const steps = [
      ["WASHING", 0],
      ["SPINNING", 1800],
      ["FINISHED", 2400],
      ["WASHING", 3600],
      ["SPINNING", 5400],
      ["FINISHED", 6000],
    ] as const;
    const burst: number[] = [];
    const t0 = performance.now();
    await Promise.all(
      burstIds.map(async (id) => {
        for (const [status, dt] of steps) {
          const started = performance.now();
          const ts = base + 7200 + dt;
          const sentAt = await post(id, status, ts);
          if (status === "FINISHED") {
            void visible(`${id}-${ts}`).then(() => burst.push(seen.get(`${id}-${ts}`)! - sentAt));
          }
          await sleep(Math.max(0, 1000 - (performance.now() - started)));
        }
      }),
    );
    await stack.dispatcher.idle();
    const deadline = performance.now() + 120_000;
    while (burst.length < burstIds.length * 2) {
      if (performance.now() > deadline) throw new Error("a FINISHED of the burst never showed");
      await sleep(50);
    }
    return {
      idle: figures(idle),
      burst: {
        ...figures(burst),
        reports: burstIds.length * steps.length,
        machines: burstIds.length,
        seconds: Math.round((performance.now() - t0) / 100) / 10,
      },
    };
  } finally {
    unsubscribe();
  }
}
