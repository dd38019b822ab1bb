/**
 * Counts Firestore operations at the local endpoint, the way Firestore bills them: a read per
 * document returned (a query or listener returning nothing still costs one; a count costs one
 * per 1,000 documents counted), a write per set/update/create, a delete per delete. The
 * endpoint counts them itself, so every client's traffic is seen.
 */
import type { FirestoreEmulator } from "../firestore/server";

export interface OpCounts {
  reads: number;
  writes: number;
  deletes: number;
}

export interface OpsCounter {
  snapshot(): OpCounts;
  reset(): void;
}

export function countOps(emulator: FirestoreEmulator): OpsCounter {
  const metrics = emulator.backend.store.metrics;
  let base: OpCounts = { ...metrics };
  return {
    snapshot: () => ({
      reads: metrics.reads - base.reads,
      writes: metrics.writes - base.writes,
      deletes: metrics.deletes - base.deletes,
    }),
    reset: () => {
      base = { ...metrics };
    },
  };
}
