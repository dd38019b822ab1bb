/**
 * One Listen stream, whatever carries it (gRPC or a browser's WebChannel): any number of
 * targets added and removed over its life, each answered with ADD, its documents, CURRENT, and
 * then a global snapshot (NO_CHANGE with no target ids, a read time and a resume token), the
 * sequence the SDKs wait for before raising a snapshot. After every commit that changes what a
 * target holds, the stream gets the changed documents (document_change / document_delete /
 * document_remove, one message per document naming every target it entered or left) and one
 * global snapshot.
 *
 * Resume tokens carry the store's epoch and a commit time. A target resumed from a token the
 * change log still covers gets only the documents changed since (and removals); any other token
 * gets RESET and the full state, so a client never keeps a document it should have lost.
 */
import { RpcError } from "./errors";
import {
  isWindowed,
  matchesQuery,
  normalizedOrder,
  type Order,
  type StoredDocument,
  type StructuredQuery,
  validateQuery,
} from "./query";
import { type CommitRecord, type DocumentStore, toTimestamp, validateDocumentName } from "./store";
import { timestampMicros, type Timestamp } from "./values";

export interface Target {
  targetId?: number;
  query?: { parent: string; structuredQuery: StructuredQuery };
  documents?: { documents?: string[] };
  resumeToken?: Buffer;
  readTime?: Timestamp;
  once?: boolean;
}

export interface ListenRequest {
  database?: string;
  addTarget?: Target;
  removeTarget?: number;
}

export interface WireDocument {
  name: string;
  fields: StoredDocument["fields"];
  createTime: { seconds: string; nanos: number };
  updateTime: { seconds: string; nanos: number };
}

export type ListenResponse =
  | {
      targetChange: {
        targetChangeType: "NO_CHANGE" | "ADD" | "REMOVE" | "CURRENT" | "RESET";
        targetIds: number[];
        resumeToken?: Buffer;
        readTime?: { seconds: string; nanos: number };
        cause?: { code: number; message: string };
      };
    }
  | { documentChange: { document: WireDocument; targetIds: number[]; removedTargetIds: number[] } }
  | {
      documentDelete: {
        document: string;
        removedTargetIds: number[];
        readTime: { seconds: string; nanos: number };
      };
    }
  | {
      documentRemove: {
        document: string;
        removedTargetIds: number[];
        readTime: { seconds: string; nanos: number };
      };
    };

export function wireDocument(doc: StoredDocument): WireDocument {
  return {
    name: doc.name,
    fields: doc.fields,
    createTime: toTimestamp(doc.createTime),
    updateTime: toTimestamp(doc.updateTime),
  };
}

export function resumeToken(store: DocumentStore, time: number): Buffer {
  const token = Buffer.alloc(12);
  store.epoch.copy(token, 0);
  token.writeBigUInt64BE(BigInt(time), 4);
  return token;
}

/** The commit time a token or read time stands for, or null if it is not from this store. */
function resumeTime(store: DocumentStore, target: Target): number | null {
  const token = target.resumeToken;
  if (token && token.length > 0) {
    if (token.length !== 12 || !token.subarray(0, 4).equals(store.epoch)) return null;
    return Number(token.readBigUInt64BE(4));
  }
  return target.readTime ? timestampMicros(target.readTime) : null;
}

interface TargetState {
  id: number;
  /** Document targets: the names; query targets: null. */
  names: Set<string> | null;
  query: { parent: string; structuredQuery: StructuredQuery; order: Order[] } | null;
  /** What the client holds for this target: name → update time. */
  known: Map<string, number>;
}

interface Pending {
  doc: StoredDocument | null;
  targetIds: number[];
  removedTargetIds: number[];
}

export class ListenSession {
  private readonly targets = new Map<number, TargetState>();
  private readonly unsubscribe: () => void;
  private closed = false;

  constructor(
    private readonly store: DocumentStore,
    private readonly send: (response: ListenResponse) => void,
  ) {
    this.unsubscribe = store.onCommit((commit) => this.onCommit(commit));
  }

  handle(request: ListenRequest): void {
    if (this.closed) return;
    if (request.addTarget) this.addTarget(request.addTarget);
    else if (request.removeTarget !== undefined) this.removeTarget(request.removeTarget);
  }

  close(): void {
    this.closed = true;
    this.unsubscribe();
    this.targets.clear();
  }

  private current(state: TargetState): StoredDocument[] {
    if (state.names) {
      return [...state.names].map((n) => this.store.get(n)).filter((d) => d !== null);
    }
    const q = state.query!;
    return this.store.query(q.parent, q.structuredQuery);
  }

  private addTarget(target: Target): void {
    const id = target.targetId ?? 0;
    let state: TargetState;
    try {
      // A query Firestore would refuse is refused here, not when a later commit is matched.
      if (target.query) validateQuery(target.query.structuredQuery);
      state = {
        id,
        names: target.documents
          ? new Set((target.documents.documents ?? []).map(validateDocumentName))
          : null,
        query: target.query
          ? {
              parent: target.query.parent,
              structuredQuery: target.query.structuredQuery,
              order: normalizedOrder(target.query.structuredQuery),
            }
          : null,
        known: new Map(),
      };
      if (!state.names && !state.query) {
        throw new RpcError("INVALID_ARGUMENT", "a target needs a query or documents");
      }
    } catch (err) {
      const e = err instanceof RpcError ? err : new RpcError("INVALID_ARGUMENT", String(err));
      this.send({
        targetChange: {
          targetChangeType: "REMOVE",
          targetIds: [id],
          cause: { code: e.grpcCode, message: e.message },
        },
      });
      return;
    }
    this.targets.set(id, state);
    this.send({ targetChange: { targetChangeType: "ADD", targetIds: [id] } });

    const docs = this.current(state);
    if (docs.length === 0) this.store.count("reads", `listen:${id}`, 1); // an empty result still costs a read
    const since = resumeTime(this.store, target);
    const changed = since === null ? null : this.store.changedSince(since);
    const delta = changed !== null && !(state.query && isWindowed(state.query.structuredQuery));
    const now = this.store.readTime();
    if (delta) {
      // The client holds the target as of `since`: send what changed after it.
      const matching = new Set(docs.map((d) => d.name));
      for (const doc of docs) {
        state.known.set(doc.name, doc.updateTime);
        if (changed.has(doc.name)) this.sendDocument(doc, [id], []);
      }
      for (const name of changed) {
        if (matching.has(name) || !this.inTargetScope(state, name)) continue;
        const removed = { document: name, removedTargetIds: [id], readTime: toTimestamp(now) };
        this.send(this.store.get(name) ? { documentRemove: removed } : { documentDelete: removed });
      }
    } else {
      if (target.resumeToken?.length || target.readTime) {
        this.send({ targetChange: { targetChangeType: "RESET", targetIds: [id] } });
      }
      for (const doc of docs) {
        state.known.set(doc.name, doc.updateTime);
        this.sendDocument(doc, [id], []);
      }
    }
    this.send({
      targetChange: {
        targetChangeType: "CURRENT",
        targetIds: [id],
        resumeToken: resumeToken(this.store, now),
      },
    });
    this.globalSnapshot(now);
  }

  private removeTarget(id: number): void {
    if (!this.targets.delete(id)) return;
    this.send({ targetChange: { targetChangeType: "REMOVE", targetIds: [id] } });
  }

  private inTargetScope(state: TargetState, name: string): boolean {
    if (state.names) return state.names.has(name);
    return name.startsWith(`${state.query!.parent}/`);
  }

  private onCommit(commit: CommitRecord): void {
    if (this.closed || this.targets.size === 0) return;
    const pending = new Map<string, Pending>();
    const entry = (name: string, doc: StoredDocument | null) => {
      let p = pending.get(name);
      if (!p) pending.set(name, (p = { doc, targetIds: [], removedTargetIds: [] }));
      return p;
    };
    for (const state of this.targets.values()) {
      const windowed = state.query && isWindowed(state.query.structuredQuery);
      if (windowed) {
        if (!commit.changes.some((c) => this.inTargetScope(state, c.name))) continue;
        // Membership depends on the other documents: recompute the whole window.
        const now = new Map(this.current(state).map((d) => [d.name, d]));
        for (const [name, doc] of now) {
          if (state.known.get(name) !== doc.updateTime) entry(name, doc).targetIds.push(state.id);
        }
        for (const name of state.known.keys()) {
          if (!now.has(name)) entry(name, this.store.get(name)).removedTargetIds.push(state.id);
        }
        state.known = new Map([...now].map(([n, d]) => [n, d.updateTime]));
        continue;
      }
      for (const { name, after } of commit.changes) {
        if (!this.inTargetScope(state, name)) continue;
        const matches =
          after !== null &&
          (state.names !== null ||
            matchesQuery(
              after,
              state.query!.parent,
              state.query!.structuredQuery,
              state.query!.order,
            ));
        if (matches) {
          entry(name, after).targetIds.push(state.id);
          state.known.set(name, after.updateTime);
        } else if (state.known.delete(name)) {
          entry(name, after).removedTargetIds.push(state.id);
        }
      }
    }
    if (pending.size === 0) return;
    const readTime = toTimestamp(commit.commitTime);
    for (const [name, p] of pending) {
      if (p.doc && p.targetIds.length > 0) {
        this.sendDocument(p.doc, p.targetIds, p.removedTargetIds);
      } else if (p.doc) {
        this.send({
          documentRemove: { document: name, removedTargetIds: p.removedTargetIds, readTime },
        });
      } else {
        this.send({
          documentDelete: { document: name, removedTargetIds: p.removedTargetIds, readTime },
        });
      }
    }
    this.globalSnapshot(commit.commitTime);
  }

  private sendDocument(doc: StoredDocument, targetIds: number[], removedTargetIds: number[]): void {
    this.store.count("reads", doc.name, 1);
    this.send({ documentChange: { document: wireDocument(doc), targetIds, removedTargetIds } });
  }

  private globalSnapshot(time: number): void {
    this.send({
      targetChange: {
        targetChangeType: "NO_CHANGE",
        targetIds: [],
        readTime: toTimestamp(time),
        resumeToken: resumeToken(this.store, time),
      },
    });
  }
}
