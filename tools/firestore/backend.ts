/**
 * The Firestore v1 RPCs over the document store, independent of transport: gRPC (grpc.ts) and
 * the browser's REST and WebChannel (http.ts) both call these. Requests and responses are in
 * proto-loader shape (see protos.ts).
 *
 * Reads in a read-write transaction take the transaction's locks (transactions.ts); commits in
 * a transaction lock what they write, apply atomically and release; commits outside one wait
 * until no transaction holds their documents.
 */
import { randomBytes } from "node:crypto";
import { asRpcError, RpcError } from "./errors";
import { type ListenResponse, wireDocument, type WireDocument } from "./listen";
import { project, type StoredDocument, type StructuredQuery } from "./query";
import {
  type CommitResult,
  DocumentStore,
  toTimestamp,
  validateDocumentName,
  writtenName,
  type Write,
} from "./store";
import { LockManager, type Transaction } from "./transactions";
import {
  NULL,
  getField,
  parseFieldPath,
  timestampMicros,
  type Timestamp,
  type Value,
} from "./values";

type Ts = { seconds: string; nanos: number };

export interface TransactionOptions {
  readOnly?: { readTime?: Timestamp };
  readWrite?: { retryTransaction?: Buffer };
}

interface ReadConsistency {
  transaction?: Buffer;
  newTransaction?: TransactionOptions;
  readTime?: Timestamp;
}

export interface BatchGetRequest extends ReadConsistency {
  database: string;
  documents?: string[];
  mask?: { fieldPaths?: string[] };
}

export interface RunQueryRequest extends ReadConsistency {
  parent: string;
  structuredQuery?: StructuredQuery;
  explainOptions?: unknown;
}

interface Aggregation {
  alias?: string;
  count?: { upTo?: { value?: string | number } };
  sum?: { field: { fieldPath: string } };
  avg?: { field: { fieldPath: string } };
}

export interface RunAggregationQueryRequest extends ReadConsistency {
  parent: string;
  structuredAggregationQuery?: { structuredQuery?: StructuredQuery; aggregations?: Aggregation[] };
  explainOptions?: unknown;
}

export interface CommitRequest {
  database: string;
  writes?: Write[];
  transaction?: Buffer;
}

function wireResults(result: CommitResult) {
  return {
    commitTime: toTimestamp(result.commitTime),
    writeResults: result.writeResults.map((r) => ({
      updateTime: toTimestamp(r.updateTime),
      transformResults: r.transformResults,
    })),
  };
}

function masked(doc: StoredDocument, mask: { fieldPaths?: string[] } | undefined): WireDocument {
  if (!mask) return wireDocument(doc);
  return wireDocument(
    project(
      doc,
      (mask.fieldPaths ?? []).map((fieldPath) => ({ fieldPath })),
    ),
  );
}

function numeric(v: Value | undefined): number | bigint | null {
  if (!v) return null;
  if ("integerValue" in v) return BigInt(v.integerValue);
  if ("doubleValue" in v) return v.doubleValue;
  return null;
}

export class Backend {
  readonly store = new DocumentStore();
  readonly locks = new LockManager();

  /** The transaction a read runs in (begun now for `newTransaction`), or null. */
  private readTransaction(req: ReadConsistency): Transaction | null {
    if (req.transaction?.length) return this.locks.find(req.transaction);
    if (req.newTransaction) return this.begin(req.newTransaction);
    this.checkReadTime(req.readTime);
    return null;
  }

  /** Reads at a past read time need old versions, which the local store does not keep. */
  private checkReadTime(readTime: Timestamp | undefined): void {
    if (readTime && timestampMicros(readTime) < this.store.readTime() - 1_000_000) {
      throw new RpcError(
        "FAILED_PRECONDITION",
        "the local Firestore serves reads at the latest time only; a past read_time is not supported",
      );
    }
  }

  private begin(options: TransactionOptions): Transaction {
    if (options.readOnly) this.checkReadTime(options.readOnly.readTime);
    return this.locks.begin({
      readOnly: options.readOnly !== undefined,
      retryTransaction: options.readWrite?.retryTransaction ?? null,
    });
  }

  beginTransaction(req: { options?: TransactionOptions }): { transaction: Buffer } {
    return { transaction: this.begin(req.options ?? { readWrite: {} }).id };
  }

  rollback(req: { transaction?: Buffer }): Record<string, never> {
    if (req.transaction?.length) {
      try {
        this.locks.finish(this.locks.find(req.transaction));
      } catch {
        // Rolling back a transaction that already expired or was aborted is not an error.
      }
    }
    return {};
  }

  async batchGet(req: BatchGetRequest) {
    const names = (req.documents ?? []).map(validateDocumentName);
    const tx = this.readTransaction(req);
    if (tx) for (const name of names) await this.locks.lock(tx, name);
    if (tx) this.locks.check(tx);
    const readTime = toTimestamp(this.store.readTime());
    const out: Record<string, unknown>[] = [];
    if (req.newTransaction && tx) out.push({ transaction: tx.id });
    for (const name of names) {
      this.store.count("reads", name, 1);
      const doc = this.store.get(name);
      out.push(doc ? { found: masked(doc, req.mask), readTime } : { missing: name, readTime });
    }
    return out;
  }

  async getDocument(req: { name: string; mask?: { fieldPaths?: string[] }; transaction?: Buffer }) {
    const name = validateDocumentName(req.name);
    const tx = this.readTransaction(req);
    if (tx) await this.locks.lock(tx, name);
    this.store.count("reads", name, 1);
    const doc = this.store.get(name);
    if (!doc) throw new RpcError("NOT_FOUND", `Document "${name}" not found`);
    return masked(doc, req.mask);
  }

  /** Runs the query; in a transaction, locks every returned document and re-runs until stable. */
  private async queryIn(tx: Transaction | null, parent: string, query: StructuredQuery) {
    let docs = this.store.query(parent, query);
    if (!tx || tx.readOnly) return docs;
    for (;;) {
      const unlocked = docs.filter((d) => !tx.held.has(d.name));
      if (unlocked.length === 0) break;
      for (const d of unlocked) await this.locks.lock(tx, d.name);
      docs = this.store.query(parent, query);
    }
    this.locks.check(tx);
    return docs;
  }

  async runQuery(req: RunQueryRequest) {
    if (req.explainOptions) throw new RpcError("UNIMPLEMENTED", "explain is not supported locally");
    if (!req.structuredQuery)
      throw new RpcError("INVALID_ARGUMENT", "structured_query is required");
    const tx = this.readTransaction(req);
    const docs = await this.queryIn(tx, req.parent, req.structuredQuery);
    this.store.count("reads", queryPath(req.parent, req.structuredQuery), Math.max(1, docs.length));
    const readTime = toTimestamp(this.store.readTime());
    const transaction = req.newTransaction && tx ? { transaction: tx.id } : {};
    if (docs.length === 0) return [{ readTime, done: true, ...transaction }];
    return docs.map((d, i) => ({
      document: wireDocument(d),
      readTime,
      ...(i === 0 ? transaction : {}),
      ...(i === docs.length - 1 ? { done: true } : {}),
    }));
  }

  async runAggregationQuery(req: RunAggregationQueryRequest) {
    if (req.explainOptions) throw new RpcError("UNIMPLEMENTED", "explain is not supported locally");
    const agg = req.structuredAggregationQuery;
    if (!agg?.structuredQuery) {
      throw new RpcError("INVALID_ARGUMENT", "structured_aggregation_query is required");
    }
    const tx = this.readTransaction(req);
    // As in Firestore, sum() and average() imply that their fields exist: a document without
    // one of them is left out of every aggregation of the request, count() included.
    const required = (agg.aggregations ?? [])
      .map((a) => (a.sum ?? a.avg)?.field.fieldPath)
      .filter((f) => f !== undefined)
      .map(parseFieldPath);
    const docs = (await this.queryIn(tx, req.parent, agg.structuredQuery)).filter((d) =>
      required.every((path) => getField(d.fields, path) !== undefined),
    );
    this.store.count(
      "reads",
      queryPath(req.parent, agg.structuredQuery),
      Math.max(1, Math.ceil(docs.length / 1000)),
    );
    const fields: Record<string, Value> = {};
    for (const [i, a] of (agg.aggregations ?? []).entries()) {
      fields[a.alias || `field_${i + 1}`] = this.aggregate(a, docs);
    }
    return [
      {
        result: { aggregateFields: fields },
        readTime: toTimestamp(this.store.readTime()),
        done: true,
        ...(req.newTransaction && tx ? { transaction: tx.id } : {}),
      },
    ];
  }

  private aggregate(a: Aggregation, docs: StoredDocument[]): Value {
    if (a.count) {
      const upTo = a.count.upTo?.value;
      const n = upTo === undefined ? docs.length : Math.min(docs.length, Number(upTo));
      return { integerValue: String(n) };
    }
    const field = (a.sum ?? a.avg)?.field.fieldPath;
    if (!field) throw new RpcError("INVALID_ARGUMENT", "an aggregation needs count, sum or avg");
    const values = docs
      .map((d) => numeric(getField(d.fields, parseFieldPath(field))))
      .filter((v) => v !== null);
    if (a.sum) {
      if (values.every((v) => typeof v === "bigint")) {
        const total = values.reduce<bigint>((s, v) => s + v, 0n);
        if (total <= 2n ** 63n - 1n && total >= -(2n ** 63n))
          return { integerValue: total.toString() };
      }
      return { doubleValue: values.reduce<number>((s, v) => s + Number(v), 0) };
    }
    if (values.length === 0) return NULL;
    return { doubleValue: values.reduce<number>((s, v) => s + Number(v), 0) / values.length };
  }

  async commit(req: CommitRequest) {
    const writes = req.writes ?? [];
    const names = writes.map(writtenName);
    if (!req.transaction?.length) {
      return wireResults(await this.locks.whenFree(names, () => this.store.commit(writes)));
    }
    const tx = this.locks.find(req.transaction);
    try {
      if (tx.readOnly && writes.length > 0) {
        throw new RpcError("INVALID_ARGUMENT", "a read-only transaction cannot write");
      }
      for (const name of names) await this.locks.lock(tx, name);
      this.locks.check(tx);
      return wireResults(this.store.commit(writes));
    } finally {
      this.locks.finish(tx);
    }
  }

  /** Applies each write on its own (not atomically), with a status per write. */
  async batchWrite(req: { writes?: Write[] }) {
    const writeResults: { updateTime?: Ts }[] = [];
    const status: { code: number; message: string }[] = [];
    for (const write of req.writes ?? []) {
      try {
        const [r] = (await this.commit({ database: "", writes: [write] })).writeResults;
        writeResults.push({ updateTime: r.updateTime });
        status.push({ code: 0, message: "" });
      } catch (err) {
        const e = asRpcError(err);
        writeResults.push({});
        status.push({ code: e.grpcCode, message: e.message });
      }
    }
    return { writeResults, status };
  }

  async createDocument(req: {
    parent: string;
    collectionId: string;
    documentId?: string;
    document?: { fields?: Record<string, unknown> };
    mask?: { fieldPaths?: string[] };
  }) {
    const id = req.documentId || randomBytes(15).toString("base64url").slice(0, 20);
    const name = validateDocumentName(`${req.parent}/${req.collectionId}/${id}`);
    await this.commit({
      database: "",
      writes: [
        {
          update: { name, fields: req.document?.fields ?? {} },
          currentDocument: { exists: false },
        },
      ],
    });
    return masked(this.store.get(name)!, req.mask);
  }

  async updateDocument(req: {
    document: { name: string; fields?: Record<string, unknown> };
    updateMask?: { fieldPaths?: string[] };
    mask?: { fieldPaths?: string[] };
    currentDocument?: Write["currentDocument"];
  }) {
    await this.commit({
      database: "",
      writes: [
        { update: req.document, updateMask: req.updateMask, currentDocument: req.currentDocument },
      ],
    });
    return masked(this.store.get(req.document.name)!, req.mask);
  }

  async deleteDocument(req: { name: string; currentDocument?: Write["currentDocument"] }) {
    await this.commit({
      database: "",
      writes: [{ delete: req.name, currentDocument: req.currentDocument }],
    });
    return {};
  }

  listCollectionIds(req: { parent: string; pageSize?: number; pageToken?: string }) {
    const all = this.store.collectionIds(req.parent);
    return page(all, req.pageSize, req.pageToken, (ids, next) => ({
      collectionIds: ids,
      nextPageToken: next,
    }));
  }

  listDocuments(req: {
    parent: string;
    collectionId: string;
    pageSize?: number;
    pageToken?: string;
    mask?: { fieldPaths?: string[] };
    showMissing?: boolean;
  }) {
    const names = this.store.documentNames(req.parent, req.collectionId, req.showMissing === true);
    return page(names, req.pageSize, req.pageToken, (slice, next) => {
      const documents = slice.map((name) => {
        const doc = this.store.get(name);
        if (!doc) return { name };
        this.store.count("reads", name, 1);
        return masked(doc, req.mask);
      });
      return { documents, nextPageToken: next };
    });
  }
}

/** `parent/collection` of a query, for the operation log. */
function queryPath(parent: string, query: StructuredQuery): string {
  return `${parent}/${query.from?.map((f) => f.collectionId).join(",") ?? ""}`;
}

function page<R>(
  all: string[],
  pageSize: number | undefined,
  pageToken: string | undefined,
  build: (items: string[], next: string) => R,
): R {
  const start = pageToken ? all.findIndex((x) => x > pageToken) : 0;
  const from = start < 0 ? all.length : start;
  const size = pageSize && pageSize > 0 ? pageSize : all.length;
  const items = all.slice(from, from + size);
  const next = from + size < all.length ? items.at(-1)! : "";
  return build(items, next);
}

/**
 * One Write stream (the web SDK's channel for writes): a handshake answered with a stream
 * token, then each request's writes committed (outside a transaction) and acknowledged.
 */
export class WriteSession {
  private readonly streamId = randomBytes(8).toString("hex");
  private sequence = 0;

  constructor(
    private readonly backend: Backend,
    private readonly send: (response: Record<string, unknown>) => void,
  ) {}

  private token(): Buffer {
    return Buffer.from(`${this.streamId}:${++this.sequence}`);
  }

  async handle(req: { database?: string; writes?: Write[]; streamToken?: Buffer }): Promise<void> {
    if (this.sequence === 0) {
      this.send({ streamId: this.streamId, streamToken: this.token() });
      if (!req.writes?.length) return;
    }
    const result = await this.backend.commit({
      database: req.database ?? "",
      writes: req.writes ?? [],
    });
    this.send({ streamToken: this.token(), ...result });
  }
}

export type { ListenResponse };
