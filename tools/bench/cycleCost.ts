/**
 * Firestore operations of one washing cycle at steady state: three reports (WASHING, SPINNING,
 * FINISHED) of washer 1 through the device function and the report trigger, after the room's
 * washers have run enough cycles to give the course a full history. Counted at the endpoint and
 * broken down by collection, so a regression names the collection that caused it.
 */
import type { Stack } from "../stack/stack";
import type { OpCounts } from "./opsCounter";

/** Cycles the room's washers run before the measured one (more than any window of history). */
export const HISTORY_CYCLES = 60;
const WASHERS = [1, 2, 3, 4];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface CycleCost extends OpCounts {
  historyCycles: number;
  /** Operations by collection (document ids left out), e.g. `machines/reports`. */
  byCollection: Record<string, OpCounts>;
  /** Writes by document path (`machines/1`, `congestion/1`…). */
  writesByDocument: Record<string, number>;
}

/** `projects/p/databases/(default)/documents/machines/1/reports/9` → `machines/reports`. */
function collectionOf(path: string): string {
  const rest = path.split("/documents/")[1] ?? path;
  return rest
    .split("/")
    .filter((_, i) => i % 2 === 0)
    .join("/");
}

export async function measureCycleCost(stack: Stack): Promise<CycleCost> {
  const store = stack.embedded?.backend.store;
  if (!store) throw new Error("operation counts need the local Firestore (tools/firestore)");
  const post = async (machineId: number, status: string, timestamp: number) => {
    const res = await fetch(`${stack.deviceUrl}/update`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      // As WashCall_Main sends them: a hard-coded washer type, the magnitudes with FINISHED.
      body: JSON.stringify({
        machine_id: machineId,
        secret_key: `demo-secret-${machineId}`,
        machine_type: "washer",
        status,
        timestamp,
        battery: 100,
        ...(status === "FINISHED"
          ? { wash_avg_magnitude: 0.41, wash_max_magnitude: 1.3, spin_max_magnitude: 2.2 }
          : {}),
      }),
    });
    if (res.status !== 200) throw new Error(`update ${machineId} ${status}: ${res.status}`);
    await stack.dispatcher.idle();
    // The firmware never sends two reports of one machine within a second.
    await sleep(1100);
  };
  const cycle = async (machineId: number, start: number, k: number) => {
    // Durations vary a little from cycle to cycle, as a real washer's do.
    const spinAt = start + 1800 + ((k * 37) % 240);
    await post(machineId, "WASHING", start);
    await post(machineId, "SPINNING", spinAt);
    await post(machineId, "FINISHED", spinAt + 600 + ((k * 53) % 120));
  };
  await stack.dispatcher.idle();
  const now = Math.floor(Date.now() / 1000);
  const perWasher = Math.ceil(HISTORY_CYCLES / WASHERS.length);
  // History: every washer of room 1, in parallel, cycles two hours apart, ending a day ago.
  await Promise.all(
    WASHERS.map(async (id, w) => {
      for (let k = 0; k < perWasher; k++) {
        await cycle(id, now - 86_400 - (perWasher - k) * 7200 - w * 60, k + w * perWasher);
      }
    }),
  );
  await stack.dispatcher.idle();

  const totals: OpCounts = { reads: 0, writes: 0, deletes: 0 };
  const byCollection: Record<string, OpCounts> = {};
  const writesByDocument: Record<string, number> = {};
  store.onOperation = (op, path, n) => {
    totals[op] += n;
    if (op !== "reads") {
      const doc = path.split("/documents/")[1] ?? path;
      writesByDocument[doc] = (writesByDocument[doc] ?? 0) + n;
    }
    const c = (byCollection[collectionOf(path)] ??= { reads: 0, writes: 0, deletes: 0 });
    c[op] += n;
  };
  try {
    await cycle(1, now - 3 * 3600, 0);
  } finally {
    store.onOperation = null;
  }
  return { ...totals, historyCycles: perWasher * WASHERS.length, byCollection, writesByDocument };
}

/**
 * The busiest document's writes per second at `machines` machines (10 to a room), every machine
 * running cycles back to back (one every `cycleSeconds`): each document the measured cycle wrote
 * is shared by one machine, by a room or by the fleet, by its collection.
 */
export function busiestDocument(cost: CycleCost, machines = 1000, cycleSeconds = 45 * 60) {
  const perRoom = 10;
  const sharedBy = (doc: string) => {
    const collection = doc.split("/")[0];
    if (["congestion", "queues", "rooms"].includes(collection)) return perRoom;
    if (["machines", "cycles", "courseChoices", "cycleWatchers"].includes(collection)) return 1;
    return machines; // anything else is taken to be fleet-wide
  };
  const rates = Object.entries(cost.writesByDocument).map(([doc, writes]) => ({
    doc,
    writesPerSecond: (writes * sharedBy(doc)) / cycleSeconds,
  }));
  rates.sort((a, b) => b.writesPerSecond - a.writesPerSecond);
  const top = rates[0] ?? { doc: "none", writesPerSecond: 0 };
  return {
    machines,
    cycleMinutes: cycleSeconds / 60,
    document: top.doc,
    writesPerSecond: Math.round(top.writesPerSecond * 10_000) / 10_000,
    // Before (one fleet-wide courseStats/{type}-{course} written on every FINISHED).
    fleetDocumentBeforeWritesPerSecond: Math.round((machines / cycleSeconds) * 10_000) / 10_000,
  };
}
