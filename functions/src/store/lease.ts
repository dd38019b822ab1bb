/**
 * Short leases on a piece of work: the document `idempotency/lease-{name}`
 * (`{kind: "lease", name, holder, takenAt, leaseUntil, expireAt}`), taken in a transaction when
 * absent or expired. While it is held (`leaseUntil` in the future) nobody else gets the work; a
 * holder that died leaves an expired lease that the next run takes over. Releasing (by the holder
 * only, so a holder that outlived its lease cannot end its successor's) sets `leaseUntil` to the
 * release time, so the next run need not wait for the expiry. The tip's refresh lease
 * (store/tip.ts) is the same pattern.
 */
import * as logger from "firebase-functions/logger";
import { type Firestore, Timestamp, type Transaction } from "firebase-admin/firestore";
import { randomUUID } from "node:crypto";
import { DAY_MS } from "../domain/time";
import { COL, toMillis } from "./db";

/** Lease documents are kept this long (the `expireAt` a TTL policy on idempotency deletes by). */
const LEASE_KEEP_MS = DAY_MS;

export interface Lease {
  /** The lease document's id. */
  key: string;
  /** Ends the lease now, if this run still holds it (best effort: a lease not released expires). */
  release(now: number): Promise<void>;
}

/**
 * Runs a lease-taking transaction; contention that outlasts the SDK's retries (ABORTED) means
 * another run is taking the lease: not taken, not an error.
 */
export async function takeInTransaction(
  db: Firestore,
  work: (tx: Transaction) => Promise<boolean>,
): Promise<boolean> {
  try {
    return await db.runTransaction(work);
  } catch (err) {
    if ((err as { code?: unknown }).code === 10) return false;
    throw err;
  }
}

export function leaseKey(name: string): string {
  return `lease-${name}`;
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
  const key = leaseKey(name);
  const ref = db.collection(COL.idempotency).doc(key);
  const holder = randomUUID();
  const taken = await takeInTransaction(db, async (tx) => {
    const held = await tx.get(ref);
    const until = held.exists ? toMillis(held.get("leaseUntil")) : null;
    // A retry of this very transaction after a commit that did land: ours already.
    if (held.get("holder") === holder) return true;
    // Held and not expired: someone else is doing the work.
    if (until !== null && a.now < until) return false;
    tx.set(ref, {
      kind: "lease",
      name,
      holder,
      takenAt: Timestamp.fromMillis(a.now),
      leaseUntil: Timestamp.fromMillis(a.now + a.leaseMs),
      expireAt: Timestamp.fromMillis(a.now + Math.max(LEASE_KEEP_MS, a.leaseMs)),
    });
    return true;
  });
  if (!taken) return null;
  return {
    key,
    async release(now: number) {
      try {
        await db.runTransaction(async (tx) => {
          const held = await tx.get(ref);
          if (held.get("holder") === holder) {
            tx.update(ref, { leaseUntil: Timestamp.fromMillis(now) });
          }
        });
      } catch (err) {
        logger.warn("lease release failed", { key, error: String(err) });
      }
    },
  };
}
