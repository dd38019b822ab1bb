/**
 * The Firestore handle and the value helpers every reader shares (the layout is data/refs.ts).
 * The admin app is created on first use (not at module load) so cold starts stay cheap and tests
 * can set the emulator host first. With FIRESTORE_EMULATOR_HOST set, firebase-admin talks to it.
 */
import { getApps, initializeApp } from "firebase-admin/app";
import { type Firestore, Timestamp, getFirestore } from "firebase-admin/firestore";

let firestore: Firestore | undefined;

export function db(): Firestore {
  if (!firestore) {
    if (getApps().length === 0) initializeApp();
    firestore = getFirestore();
  }
  return firestore;
}

export function toTimestamp(ms: number | null): Timestamp | null {
  return ms === null ? null : Timestamp.fromMillis(ms);
}

export const str = (v: unknown): string | null => (typeof v === "string" ? v : null);
export const num = (v: unknown): number | null => (typeof v === "number" ? v : null);

export function toMillis(value: unknown): number | null {
  if (value instanceof Timestamp) return value.toMillis();
  if (typeof value === "number") return value;
  return null;
}

const hasCode = (err: unknown, code: number) =>
  typeof err === "object" && err !== null && (err as { code?: unknown }).code === code;

/** Firestore's NOT_FOUND (gRPC code 5): an `update()` of a document that does not exist. */
export const isNotFound = (err: unknown) => hasCode(err, 5);

/** Firestore's ALREADY_EXISTS (gRPC code 6): a `create()` of a document that exists. */
export const isAlreadyExists = (err: unknown) => hasCode(err, 6);
