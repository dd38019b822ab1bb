/**
 * Short leases on a piece of work, decided by `create()` alone (the embedded Firestore endpoint
 * does not isolate transactions, but it does refuse a second create of the same document).
 *
 * A lease named `name` is the document `idempotency/{name}-{attempt}`
 * (`{kind: "lease", name, attempt, takenAt, leaseUntil, expireAt}`). Attempt 0 is tried first;
 * while a lease document is held (`leaseUntil` in the future) nobody else gets the work. A holder
 * that died leaves an expired lease, and the next taker creates `attempt + 1`, which again only
 * one run can create. Releasing sets `leaseUntil` to the release time, so the next run need not
 * wait for the expiry. The pattern is the tip's refresh lease (store/tip.ts).
 */
import * as logger from "firebase-functions/logger";
import { type Firestore, Timestamp } from "firebase-admin/firestore";
import { DAY_MS } from "../domain/time";
import { COL, isAlreadyExists, toMillis } from "./db";

/** Expired leases (dead or failed holders) stepped over before giving up. */
export const LEASE_MAX_ATTEMPTS = 50;
/** Lease documents are kept this long (the `expireAt` a TTL policy on idempotency deletes by). */
const LEASE_KEEP_MS = DAY_MS;

export interface Lease {
  /** The lease document's id. */
  key: string;
  attempt: number;
  /** Ends the lease now (best effort: a lease not released just expires). */
  release(now: number): Promise<void>;
}

export function leaseKey(name: string, attempt: number): string {
  return `${name}-${attempt}`;
}

/**
 * Takes the lease `name` for `leaseMs`, or returns null while another run holds it. Never throws
 * for a lease held by someone else; other Firestore errors are thrown.
 */
export async function acquireLease(
  db: Firestore,
  name: string,
  a: { now: number; leaseMs: number },
): Promise<Lease | null> {
  for (let attempt = 0; attempt < LEASE_MAX_ATTEMPTS; attempt++) {
    const key = leaseKey(name, attempt);
    const ref = db.collection(COL.idempotency).doc(key);
    try {
      await ref.create({
        kind: "lease",
        name,
        attempt,
        takenAt: Timestamp.fromMillis(a.now),
        leaseUntil: Timestamp.fromMillis(a.now + a.leaseMs),
        expireAt: Timestamp.fromMillis(a.now + Math.max(LEASE_KEEP_MS, a.leaseMs)),
      });
      return {
        key,
        attempt,
        async release(now: number) {
          try {
            await ref.update({ leaseUntil: Timestamp.fromMillis(now) });
          } catch (err) {
            logger.warn("lease release failed", { key, error: String(err) });
          }
        },
      };
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
    const held = await ref.get();
    const until = held.exists ? toMillis(held.get("leaseUntil")) : null;
    // Held and not expired: someone else is doing the work.
    if (until !== null && a.now < until) return null;
  }
  logger.warn("lease: too many expired attempts, giving up", { name });
  return null;
}
