/**
 * Firestore, as the PWA reads it: the documents of DESIGN.md's "Documents clients read", each
 * through a converter to a plain typed object, and two hooks that keep a component in step with
 * a document or a query (real-time listeners; no polling). Loaded after sign-in only.
 */
import type { FirebaseApp } from "firebase/app";
import {
  type DocumentData,
  type DocumentReference,
  type Firestore,
  type FirestoreDataConverter,
  type Query,
  type QueryDocumentSnapshot,
  Timestamp,
  collection,
  connectFirestoreEmulator,
  doc,
  initializeFirestore,
  limit,
  onSnapshot,
  orderBy,
  query,
  where,
} from "firebase/firestore";
import { useEffect, useState } from "preact/hooks";
import type { z } from "zod";
import type { InboxEntrySchema } from "../../functions/src/http/apiResponses";
import type { SiteConfig } from "./config";

export type MachineStatus = "WASHING" | "SPINNING" | "DRYING" | "FINISHED" | "OFF";

export interface Machine {
  id: string;
  roomId: string | null;
  name: string;
  type: "washer" | "dryer";
  status: MachineStatus;
  course: string | null;
  cycleStartedAt: number | null;
  expectedEndAt: number | null;
  expectedEndRange: { low: number; high: number } | null;
  lastSeenAt: number | null;
  online: boolean;
  outOfOrder: boolean;
  calibration: boolean;
}

export interface Room {
  id: string;
  name: string;
  timers: Record<
    string,
    { status: string; remainingMinutes: number; expectedEndAt: number; finishing?: boolean }
  >;
}

/** An inbox entry: the same shape as `GET /notifications` answers (one definition, the server's). */
export type InboxItem = z.output<typeof InboxEntrySchema>;

export interface UserDoc {
  unreadCount: number;
}

/** weekday (0 = Monday) × hour (KST) counts. */
export type Congestion = number[][];

const ms = (v: unknown): number | null =>
  v instanceof Timestamp ? v.toMillis() : typeof v === "number" ? v : null;
const str = (v: unknown): string | null => (typeof v === "string" ? v : null);

/** Read-only converters: the PWA never writes Firestore (every write goes through `api`). */
function reader<T>(from: (id: string, d: DocumentData) => T): FirestoreDataConverter<T> {
  return {
    toFirestore: () => {
      throw new Error("the PWA does not write Firestore");
    },
    fromFirestore: (snap: QueryDocumentSnapshot) => from(snap.id, snap.data()),
  };
}

const machineConverter = reader<Machine>((id, d) => {
  const range = d.expectedEndRange as { low?: unknown; high?: unknown } | null | undefined;
  const low = ms(range?.low);
  const high = ms(range?.high);
  return {
    id,
    roomId: str(d.roomId),
    name: str(d.name) ?? id,
    type: d.type === "dryer" ? "dryer" : "washer",
    status: (["WASHING", "SPINNING", "DRYING", "FINISHED"].includes(d.status as string)
      ? d.status
      : "OFF") as MachineStatus,
    // The running cycle's course (the report trigger files it); a pending choice is not shown.
    course: str(d.courseName) ?? str(d.course),
    cycleStartedAt: ms(d.cycleStartedAt),
    expectedEndAt: ms(d.expectedEndAt),
    expectedEndRange: low !== null && high !== null ? { low, high } : null,
    lastSeenAt: ms(d.lastSeenAt),
    online: d.online !== false,
    outOfOrder: d.outOfOrder === true,
    calibration: d.calibration === true,
  };
});

const roomConverter = reader<Room>((id, d) => {
  const timers: Room["timers"] = {};
  const raw = (d.timers ?? {}) as Record<string, Record<string, unknown>>;
  for (const [mid, t] of Object.entries(raw)) {
    const end = ms(t.expectedEndAt);
    if (end === null) continue;
    timers[mid] = {
      status: str(t.status) ?? "",
      remainingMinutes: Number(t.remainingMinutes ?? 0),
      expectedEndAt: end,
      finishing: t.finishing === true,
    };
  }
  return { id, name: str(d.name) ?? id, timers };
});

const inboxConverter = reader<InboxItem>((id, d) => ({
  id,
  title: String(d.title ?? ""),
  body: String(d.body ?? ""),
  type: String(d.type ?? ""),
  machineId: str(d.machineId),
  roomId: str(d.roomId),
  createdAt: ms(d.createdAt),
  readAt: ms(d.readAt),
}));

const userConverter = reader<UserDoc>((_, d) => ({
  unreadCount: Math.max(0, Number(d.unreadCount ?? 0)),
}));

/** congestion/{roomId}: one field per cell, `w{weekday}h{hh}` (functions/src/domain/congestion). */
const congestionConverter = reader<Congestion>((_, d) =>
  Array.from({ length: 7 }, (_w, w) =>
    Array.from({ length: 24 }, (_h, h) => {
      const v: unknown = d[`w${w}h${String(h).padStart(2, "0")}`];
      return typeof v === "number" ? v : 0;
    }),
  ),
);

export interface Data {
  db: Firestore;
  rooms: Query<Room>;
  room(id: string): DocumentReference<Room>;
  machinesOf(roomId: string): Query<Machine>;
  allMachines: Query<Machine>;
  congestion(roomId: string): DocumentReference<Congestion>;
  user(uid: string): DocumentReference<UserDoc>;
  inbox(uid: string, max: number): Query<InboxItem>;
}

export function startData(app: FirebaseApp, site: SiteConfig): Data {
  const db = initializeFirestore(app, {});
  if (site.emulators) {
    connectFirestoreEmulator(db, site.emulators.firestore.host, site.emulators.firestore.port);
  }
  return {
    db,
    rooms: collection(db, "rooms").withConverter(roomConverter),
    room: (id) => doc(db, "rooms", id).withConverter(roomConverter),
    machinesOf: (roomId) =>
      query(collection(db, "machines"), where("roomId", "==", roomId)).withConverter(
        machineConverter,
      ),
    allMachines: collection(db, "machines").withConverter(machineConverter),
    congestion: (roomId) => doc(db, "congestion", roomId).withConverter(congestionConverter),
    user: (uid) => doc(db, "users", uid).withConverter(userConverter),
    inbox: (uid, max) =>
      query(
        collection(db, "users", uid, "notifications"),
        orderBy("createdAt", "desc"),
        limit(max),
      ).withConverter(inboxConverter),
  };
}

/** Decimal ids in numeric order ("2" before "10"), others after by their text. */
export const byId = (a: { id: string }, b: { id: string }) =>
  a.id.length - b.id.length || a.id.localeCompare(b.id);

export interface Live<T> {
  value: T;
  /** False until the first snapshot (from the server or the cache) arrived. */
  ready: boolean;
  error: Error | null;
}

/** A document kept current with a listener; `value` null while it does not exist. */
export function useDoc<T>(ref: DocumentReference<T> | null, key: string): Live<T | null> {
  const [state, setState] = useState<Live<T | null>>({ value: null, ready: false, error: null });
  useEffect(() => {
    if (!ref) return undefined;
    setState({ value: null, ready: false, error: null });
    return onSnapshot(
      ref,
      (snap) => setState({ value: snap.exists() ? snap.data() : null, ready: true, error: null }),
      (error) => setState({ value: null, ready: true, error }),
    );
    // `key` identifies the reference (references are new objects on every render).
  }, [key]);
  return state;
}

/** A query's documents kept current with a listener. */
export function useQuery<T>(q: Query<T> | null, key: string): Live<T[]> {
  const [state, setState] = useState<Live<T[]>>({ value: [], ready: false, error: null });
  useEffect(() => {
    if (!q) return undefined;
    setState({ value: [], ready: false, error: null });
    return onSnapshot(
      q,
      (snap) => setState({ value: snap.docs.map((d) => d.data()), ready: true, error: null }),
      (error) => setState({ value: [], ready: true, error }),
    );
  }, [key]);
  return state;
}
