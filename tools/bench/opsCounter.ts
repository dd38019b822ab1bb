/**
 * Counts Firestore operations at the embedded endpoint, the way Firestore bills them: a read per
 * document fetched (a query returning nothing still costs one), a write per set/update/create,
 * a delete per delete. It wraps the endpoint's state, so it sees every client's traffic.
 */
import type { FirestoreServer } from "@firestore-emulator/server";

export interface OpCounts {
  reads: number;
  writes: number;
  deletes: number;
}

export interface OpsCounter {
  snapshot(): OpCounts;
  reset(): void;
}

export function countOps(server: FirestoreServer): OpsCounter {
  const state = server.state as unknown as {
    getDocument: (path: string) => unknown;
    writeV1Document: (date: Date, write: { delete?: unknown; has_delete?: boolean }) => unknown;
    v1Query: (parent: string, query: unknown) => unknown[];
  };
  const counts: OpCounts = { reads: 0, writes: 0, deletes: 0 };
  let nested = 0;
  const getDocument = state.getDocument.bind(state);
  const writeV1Document = state.writeV1Document.bind(state);
  const v1Query = state.v1Query.bind(state);
  state.getDocument = (path) => {
    if (nested === 0) counts.reads += 1;
    return getDocument(path);
  };
  state.writeV1Document = (date, write) => {
    nested += 1;
    try {
      if (write.has_delete || (typeof write.delete === "string" && write.delete.length > 0)) counts.deletes += 1;
      else counts.writes += 1;
      return writeV1Document(date, write);
    } finally {
      nested -= 1;
    }
  };
  state.v1Query = (parent, query) => {
    nested += 1;
    try {
      const results = v1Query(parent, query);
      counts.reads += Math.max(1, results.length);
      return results;
    } finally {
      nested -= 1;
    }
  };
  return {
    snapshot: () => ({ ...counts }),
    reset: () => {
      counts.reads = 0;
      counts.writes = 0;
      counts.deletes = 0;
    },
  };
}
