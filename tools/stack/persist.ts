/**
 * Keeps the local Firestore's documents across `npm start` restarts, as the emulator suite's
 * `--import` / `--export-on-exit` does: loaded before the dispatcher starts (so nothing is
 * re-triggered), saved within a second of any write and once more on stop. A `kill -9` loses at
 * most the last second.
 *
 * The file is one JSON document, path → fields, written through the Admin SDK's own types and a
 * tagged encoding (`{"$ts":[s,ns]}`, `{"$m":{…}}`, …) so a reload gives back exactly the values
 * that were saved. Atomic: written to a temporary file, then renamed.
 */
import { DocumentReference, type Firestore, GeoPoint, Timestamp } from "firebase-admin/firestore";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { DocumentStore } from "../firestore/store";

type Encoded =
  | null
  | boolean
  | number
  | string
  | Encoded[]
  | { $ts: [number, number] }
  | { $bytes: string }
  | { $ref: string }
  | { $geo: [number, number] }
  | { $m: Record<string, Encoded> };

export function encodeValue(v: unknown): Encoded {
  if (v === null || typeof v === "boolean" || typeof v === "string") return v;
  if (typeof v === "number") return v;
  if (Array.isArray(v)) return v.map(encodeValue);
  if (v instanceof Timestamp) return { $ts: [v.seconds, v.nanoseconds] };
  if (v instanceof GeoPoint) return { $geo: [v.latitude, v.longitude] };
  if (v instanceof DocumentReference) return { $ref: v.path };
  if (v instanceof Uint8Array) return { $bytes: Buffer.from(v).toString("base64") };
  if (typeof v === "object") {
    return {
      $m: Object.fromEntries(Object.entries(v).map(([k, x]) => [k, encodeValue(x)])),
    };
  }
  throw new Error(`cannot save a ${typeof v}`);
}

export function decodeValue(db: Firestore, e: Encoded): unknown {
  if (e === null || typeof e !== "object") return e;
  if (Array.isArray(e)) return e.map((x) => decodeValue(db, x));
  if ("$ts" in e) return new Timestamp(e.$ts[0], e.$ts[1]);
  if ("$geo" in e) return new GeoPoint(e.$geo[0], e.$geo[1]);
  if ("$ref" in e) return db.doc(e.$ref);
  if ("$bytes" in e) return Buffer.from(e.$bytes, "base64");
  return Object.fromEntries(Object.entries(e.$m).map(([k, x]) => [k, decodeValue(db, x)]));
}

/** Every existing document path of the project, relative to the database root. */
function documentPaths(store: DocumentStore, projectId: string): string[] {
  const prefix = `projects/${projectId}/databases/(default)/documents/`;
  return store
    .all()
    .map((d) => d.name)
    .filter((n) => n.startsWith(prefix))
    .map((n) => n.slice(prefix.length));
}

export async function saveDocuments(
  db: Firestore,
  store: DocumentStore,
  projectId: string,
  file: string,
): Promise<number> {
  const paths = documentPaths(store, projectId);
  const out: Record<string, Encoded> = {};
  for (let i = 0; i < paths.length; i += 300) {
    const snaps = await db.getAll(...paths.slice(i, i + 300).map((p) => db.doc(p)));
    for (const s of snaps) if (s.exists) out[s.ref.path] = encodeValue(s.data());
  }
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, JSON.stringify(out));
  renameSync(tmp, file);
  return Object.keys(out).length;
}

/** `machines/{m}/reports/{id}` → the id of its idempotency marker, else null. */
function reportMarkerOf(docPath: string): string | null {
  const m = /^machines\/([^/]+)\/reports\/([^/]+)$/.exec(docPath);
  return m ? `idempotency/report-${m[1]}-${m[2]}` : null;
}

async function writeAll(db: Firestore, entries: [string, Encoded][]): Promise<void> {
  for (let i = 0; i < entries.length; i += 400) {
    const batch = db.batch();
    for (const [p, data] of entries.slice(i, i + 400)) {
      batch.set(db.doc(p), decodeValue(db, data) as FirebaseFirestore.DocumentData);
    }
    await batch.commit();
  }
}

export interface LoadedDocuments {
  /** Documents written back now. */
  restored: number;
  /**
   * Writes the reports that were saved before their trigger applied them (the stack stopped in
   * between). Call it once the dispatcher runs: their creation delivers the trigger, as it would
   * have. Returns how many.
   */
  replay(): Promise<number>;
}

/** Writes the saved documents back (none when there is no file), holding back unapplied reports. */
export async function loadDocuments(db: Firestore, file: string): Promise<LoadedDocuments> {
  if (!existsSync(file)) return { restored: 0, replay: () => Promise.resolve(0) };
  const saved = JSON.parse(readFileSync(file, "utf8")) as Record<string, Encoded>;
  const pending = (p: string) => {
    const marker = reportMarkerOf(p);
    return marker !== null && !(marker in saved);
  };
  const now = Object.entries(saved).filter(([p]) => !pending(p));
  const later = Object.entries(saved).filter(([p]) => pending(p));
  await writeAll(db, now);
  return {
    restored: now.length,
    replay: async () => {
      await writeAll(db, later);
      return later.length;
    },
  };
}

export interface Persistence {
  /** Saves now if anything changed since the last save. */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

/** Saves within a second of any write, and on stop. */
export function persistDocuments(
  db: Firestore,
  store: DocumentStore,
  projectId: string,
  file: string,
  onError: (err: unknown) => void,
): Persistence {
  let dirty = false;
  let saving: Promise<void> = Promise.resolve();
  const unsubscribe = store.onCommit(() => {
    dirty = true;
  });
  const flush = () => {
    saving = saving.then(async () => {
      if (!dirty) return;
      dirty = false;
      try {
        await saveDocuments(db, store, projectId, file);
      } catch (err) {
        dirty = true;
        onError(err);
      }
    });
    return saving;
  };
  const timer = setInterval(() => void flush(), 1000);
  timer.unref();
  return {
    flush,
    async stop() {
      clearInterval(timer);
      await flush();
      unsubscribe();
    },
  };
}
