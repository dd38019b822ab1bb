/**
 * The documents of the local Firestore and the one way to change them: `commit`, which applies
 * a list of writes atomically (every precondition is checked against the state the earlier
 * writes of the same commit leave, and a failure applies none), stamps them with one strictly
 * increasing commit time, and tells listeners what changed. Writes that change nothing keep the
 * document's update time and notify nobody, as in Firestore.
 */
import { randomBytes } from "node:crypto";
import { RpcError } from "./errors";
import { type StoredDocument, type StructuredQuery, runQuery, splitName } from "./query";
import {
  compareValues,
  deleteField,
  getField,
  isNumber,
  NULL,
  normalizeFields,
  normalizeValue,
  parseFieldPath,
  sameFields,
  setField,
  timestampMicros,
  valuesEqual,
  type Fields,
  type Timestamp,
  type Value,
} from "./values";

export interface FieldTransform {
  fieldPath: string;
  setToServerValue?: string;
  increment?: Value;
  maximum?: Value;
  minimum?: Value;
  appendMissingElements?: { values?: Value[] };
  removeAllFromArray?: { values?: Value[] };
}

export interface Write {
  update?: { name: string; fields?: Record<string, unknown> };
  delete?: string;
  /** Checks `currentDocument` only (the SDKs send it for documents a transaction read). */
  verify?: string;
  transform?: { document: string; fieldTransforms?: FieldTransform[] };
  updateMask?: { fieldPaths?: string[] } | null;
  updateTransforms?: FieldTransform[];
  currentDocument?: { exists?: boolean; updateTime?: Timestamp; conditionType?: string } | null;
}

export interface WriteResult {
  /** The commit time, or the document's previous update time when the write changed nothing. */
  updateTime: number;
  transformResults: Value[];
}

export interface DocumentChange {
  name: string;
  before: StoredDocument | null;
  after: StoredDocument | null;
}

export interface CommitRecord {
  commitTime: number;
  changes: DocumentChange[];
}

export interface CommitResult extends CommitRecord {
  writeResults: WriteResult[];
}

/** Billing-style operation counts: a read per document returned (a read for an empty query). */
export interface Metrics {
  reads: number;
  writes: number;
  deletes: number;
}

export function toTimestamp(micros: number): { seconds: string; nanos: number } {
  const seconds = Math.floor(micros / 1e6);
  return { seconds: String(seconds), nanos: (micros - seconds * 1e6) * 1000 };
}

const DOC_NAME = /^projects\/[^/]+\/databases\/[^/]+\/documents\/(.+)$/;

export function validateDocumentName(name: unknown): string {
  const m = typeof name === "string" ? DOC_NAME.exec(name) : null;
  const segments = m?.[1]?.split("/") ?? [];
  if (!m || segments.length % 2 !== 0 || segments.some((s) => s === "")) {
    throw new RpcError("INVALID_ARGUMENT", `not a document name: ${String(name)}`);
  }
  return name as string;
}

/** How many changes the resume log remembers; older resume tokens get a full reset. */
const CHANGE_LOG_LIMIT = 20_000;

export class DocumentStore {
  /** Random per instance, carried in resume tokens so tokens of an earlier run are recognised. */
  readonly epoch = randomBytes(4);
  readonly metrics: Metrics = { reads: 0, writes: 0, deletes: 0 };
  /** Told of every billed operation with the document or query it was for (the benchmark's breakdown). */
  onOperation: ((op: keyof Metrics, path: string, n: number) => void) | null = null;
  private readonly docs = new Map<string, StoredDocument>();
  private readonly byCollection = new Map<string, Map<string, StoredDocument>>();
  private readonly listeners = new Set<(commit: CommitRecord) => void>();
  private readonly changeLog: { time: number; name: string }[] = [];
  private lastTime = 0;
  private lastRead = 0;
  private oldestLogged = 0;

  /** Bills `n` operations of one kind. */
  count(op: keyof Metrics, path: string, n: number): void {
    this.metrics[op] += n;
    this.onOperation?.(op, path, n);
  }

  /**
   * A commit time strictly after every earlier commit time and every read time handed out, in
   * microseconds: a client that saw a document missing at read time T must see its creation
   * at a later version, or it ignores it as outdated.
   */
  private nextTime(): number {
    const now = Date.now() * 1000;
    this.lastTime = Math.max(now, this.lastTime + 1, this.lastRead + 1);
    return this.lastTime;
  }

  /** A read time that sees every commit so far. */
  readTime(): number {
    const t = Math.max(this.lastTime, Date.now() * 1000);
    this.lastRead = Math.max(this.lastRead, t);
    return t;
  }

  get(name: string): StoredDocument | null {
    return this.docs.get(name) ?? null;
  }

  /** Every document. */
  all(): StoredDocument[] {
    return [...this.docs.values()];
  }

  /** Documents a query over `parent` could return (its scope, unfiltered). */
  candidates(parent: string, query: StructuredQuery): Iterable<StoredDocument> {
    const from = query.from?.[0];
    if (!from) return [];
    if (!from.allDescendants) {
      return this.byCollection.get(`${parent}/${from.collectionId ?? ""}`)?.values() ?? [];
    }
    return this.docs.values();
  }

  query(parent: string, query: StructuredQuery): StoredDocument[] {
    return runQuery(this.candidates(parent, query), parent, query);
  }

  /** Ids of the collections directly under `parent` (a document name or the database root). */
  collectionIds(parent: string): string[] {
    const ids = new Set<string>();
    const prefix = `${parent}/`;
    for (const name of this.docs.keys()) {
      if (name.startsWith(prefix)) ids.add(name.slice(prefix.length).split("/")[0]);
    }
    return [...ids].sort();
  }

  /**
   * Names in `parent/collectionId`: existing documents, and with `showMissing` also the
   * "missing" ones that exist only as the parent of deeper documents.
   */
  documentNames(parent: string, collectionId: string, showMissing: boolean): string[] {
    const prefix = `${parent}/${collectionId}/`;
    const names = new Set<string>();
    for (const name of this.docs.keys()) {
      if (!name.startsWith(prefix)) continue;
      const rest = name.slice(prefix.length).split("/");
      if (rest.length === 1) names.add(name);
      else if (showMissing) names.add(prefix + rest[0]);
    }
    return [...names].sort();
  }

  onCommit(listener: (commit: CommitRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Names changed after `since` (a commit time), or null when the log no longer reaches back
   * that far.
   */
  changedSince(since: number): Set<string> | null {
    if (since < this.oldestLogged) return null;
    const out = new Set<string>();
    for (let i = this.changeLog.length - 1; i >= 0 && this.changeLog[i].time > since; i--) {
      out.add(this.changeLog[i].name);
    }
    return out;
  }

  /** Applies all writes or none; throws the first failed precondition as an RpcError. */
  commit(writes: Write[]): CommitResult {
    const commitTime = this.nextTime();
    const staged = new Map<string, StoredDocument | null>();
    const current = (name: string) => (staged.has(name) ? staged.get(name)! : this.get(name));
    const writeResults: WriteResult[] = [];
    for (const write of writes) {
      const name = writtenName(write);
      const before = current(name);
      checkPrecondition(name, before, write.currentDocument);
      const { after, transformResults } = applyWrite(before, name, write, commitTime);
      const unchanged =
        (before === null && after === null) ||
        (before !== null && after !== null && sameFields(before.fields, after.fields));
      staged.set(name, unchanged ? before : after);
      writeResults.push({
        updateTime: unchanged && before ? before.updateTime : commitTime,
        transformResults,
      });
    }
    for (const write of writes) {
      if (write.delete) this.count("deletes", writtenName(write), 1);
      else if (!write.verify) this.count("writes", writtenName(write), 1);
    }
    const changes: DocumentChange[] = [];
    for (const [name, after] of staged) {
      const before = this.get(name);
      if (before === after) continue;
      changes.push({ name, before, after });
      this.put(name, after);
      this.changeLog.push({ time: commitTime, name });
    }
    if (this.changeLog.length > CHANGE_LOG_LIMIT) {
      const dropped = this.changeLog.splice(0, this.changeLog.length - CHANGE_LOG_LIMIT);
      this.oldestLogged = dropped.at(-1)!.time;
    }
    const record = { commitTime, changes };
    if (changes.length > 0) {
      for (const l of [...this.listeners]) {
        try {
          l(record);
        } catch (err) {
          // The commit is applied; a listener's failure is its own (it must not fail the commit).
          console.error("local Firestore: a commit listener failed", err);
        }
      }
    }
    return { ...record, writeResults };
  }

  /** Removes every document whose name starts with `prefix` (the emulator's clear endpoint). */
  clear(prefix: string): number {
    const names = [...this.docs.keys()].filter((n) => n.startsWith(prefix));
    if (names.length === 0) return 0;
    return this.commit(names.map((name) => ({ delete: name }))).changes.length;
  }

  private put(name: string, doc: StoredDocument | null): void {
    const { parent, collectionId } = splitName(name);
    const key = `${parent}/${collectionId}`;
    if (doc) {
      this.docs.set(name, doc);
      let col = this.byCollection.get(key);
      if (!col) this.byCollection.set(key, (col = new Map<string, StoredDocument>()));
      col.set(name, doc);
    } else {
      this.docs.delete(name);
      const col = this.byCollection.get(key);
      col?.delete(name);
      if (col?.size === 0) this.byCollection.delete(key);
    }
  }
}

/** The document a write is about. */
export function writtenName(write: Write): string {
  return validateDocumentName(
    write.update?.name ?? write.delete ?? write.transform?.document ?? write.verify,
  );
}

function checkPrecondition(
  name: string,
  doc: StoredDocument | null,
  pre: Write["currentDocument"],
): void {
  if (!pre) return;
  if (pre.exists !== undefined && (pre.conditionType ?? "exists") === "exists") {
    if (pre.exists && !doc) throw new RpcError("NOT_FOUND", `no entity to update: ${name}`);
    if (!pre.exists && doc) throw new RpcError("ALREADY_EXISTS", `entity already exists: ${name}`);
  }
  if (pre.updateTime) {
    const want = timestampMicros(pre.updateTime);
    if (!doc || doc.updateTime !== want) {
      throw new RpcError(
        "FAILED_PRECONDITION",
        `the document ${name} ${doc ? "was updated since" : "does not exist at"} the given update time`,
      );
    }
  }
}

function applyWrite(
  before: StoredDocument | null,
  name: string,
  write: Write,
  commitTime: number,
): { after: StoredDocument | null; transformResults: Value[] } {
  if (write.delete) return { after: null, transformResults: [] };
  if (write.verify) return { after: before, transformResults: [] };
  let fields: Fields;
  let transforms: FieldTransform[];
  if (write.update) {
    const given = normalizeFields(write.update.fields ?? {});
    // A mask (even an empty one, as a transform-only update sends) updates only its paths.
    const mask = write.updateMask ? (write.updateMask.fieldPaths ?? []) : null;
    if (mask) {
      fields = before?.fields ?? {};
      for (const path of mask) {
        const segments = parseFieldPath(path);
        const v = getField(given, segments);
        fields = v === undefined ? deleteField(fields, segments) : setField(fields, segments, v);
      }
    } else {
      fields = given;
    }
    transforms = write.updateTransforms ?? [];
  } else if (write.transform) {
    fields = before?.fields ?? {};
    transforms = write.transform.fieldTransforms ?? [];
  } else {
    throw new RpcError("INVALID_ARGUMENT", "a write needs update, delete or transform");
  }
  const transformResults: Value[] = [];
  for (const t of transforms) {
    const path = parseFieldPath(t.fieldPath);
    const result = transform(getField(fields, path), t, commitTime);
    fields = setField(fields, path, result.value);
    transformResults.push(result.reported);
  }
  return {
    after: {
      name,
      fields,
      createTime: before?.createTime ?? commitTime,
      updateTime: commitTime,
    },
    transformResults,
  };
}

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

function add(a: Value, b: Value): Value {
  if ("integerValue" in a && "integerValue" in b) {
    const sum = BigInt(a.integerValue) + BigInt(b.integerValue);
    const clamped = sum > INT64_MAX ? INT64_MAX : sum < INT64_MIN ? INT64_MIN : sum;
    return { integerValue: clamped.toString() };
  }
  const x =
    "integerValue" in a ? Number(a.integerValue) : (a as { doubleValue: number }).doubleValue;
  const y =
    "integerValue" in b ? Number(b.integerValue) : (b as { doubleValue: number }).doubleValue;
  return { doubleValue: x + y };
}

function transform(
  current: Value | undefined,
  t: FieldTransform,
  commitTime: number,
): { value: Value; reported: Value } {
  const same = (value: Value) => ({ value, reported: value });
  if (t.setToServerValue !== undefined) {
    if (t.setToServerValue !== "REQUEST_TIME") {
      throw new RpcError("INVALID_ARGUMENT", `unknown server value ${t.setToServerValue}`);
    }
    return same({ timestampValue: toTimestamp(commitTime) });
  }
  if (t.increment) {
    const by = normalizeValue(t.increment);
    return same(isNumber(current) ? add(current, by) : by);
  }
  if (t.maximum || t.minimum) {
    const operand = normalizeValue(t.maximum ?? t.minimum);
    if (!isNumber(current)) return same(operand);
    const c = compareValues(operand, current);
    const takeOperand = t.maximum ? c > 0 : c < 0;
    return same(takeOperand ? operand : current);
  }
  if (t.appendMissingElements) {
    const existing = current && "arrayValue" in current ? (current.arrayValue.values ?? []) : [];
    const out = [...existing];
    for (const raw of t.appendMissingElements.values ?? []) {
      const v = normalizeValue(raw);
      if (!out.some((x) => valuesEqual(x, v))) out.push(v);
    }
    return { value: { arrayValue: { values: out } }, reported: NULL };
  }
  if (t.removeAllFromArray) {
    const existing = current && "arrayValue" in current ? (current.arrayValue.values ?? []) : [];
    const gone = (t.removeAllFromArray.values ?? []).map(normalizeValue);
    const out = existing.filter((x) => !gone.some((g) => valuesEqual(x, g)));
    return { value: { arrayValue: { values: out } }, reported: NULL };
  }
  throw new RpcError("INVALID_ARGUMENT", `unsupported field transform on ${t.fieldPath}`);
}
