/**
 * Short leases on a piece of work: one document per lease (`{kind, name, holder, takenAt,
 * expireAt}`), taken in a transaction when absent or expired. While it is held (`expireAt` in
 * the future) nobody else gets the work; a holder that died leaves an expired lease that the next
 * run takes over. Releasing deletes it, by the holder only, so a holder that outlived its lease
 * cannot end its successor's. `expireAt` is also the field the collections' TTL policies delete
 * by. The tip takes one per refresh (`caches/tip-lease-{scope}-{locale}`): one Gemini call.
 */
import * as logger from "firebase-functions/logger";
import {
  type DocumentReference,
  type Firestore,
  Timestamp,
  type Transaction,
} from "firebase-admin/firestore";
import { randomUUID } from "node:crypto";
import { toMillis } from "../data/db";

export interface Lease {
  /** The lease document's id. */
  key: string;
  /** Ends the lease now, if this run still holds it (best effort: a lease not released expires). */
  release(): Promise<void>;
}

/**
 * Runs a lease-taking transaction; contention that outlasts the SDK's retries (ABORTED) means
 * another run is taking the lease: not taken, not an error.
 */
async function takeInTransaction(
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

/**
 * Takes the lease document `ref` for `leaseMs`, or returns null while another run holds it.
 * Never throws for a lease held by someone else; other Firestore errors are thrown.
 */
export async function acquireLease(
  db: Firestore,
  ref: DocumentReference,
  a: { kind: string; now: number; leaseMs: number; holder?: string },
): Promise<Lease | null> {
  const holder = a.holder ?? randomUUID();
  const taken = await takeInTransaction(db, async (tx) => {
    const held = await tx.get(ref);
    // A retry of this very transaction after a commit that did land: ours already.
    if (held.get("holder") === holder) return true;
    const until = held.exists ? toMillis(held.get("expireAt")) : null;
    // Held and not expired: someone else is doing the work.
    if (until !== null && a.now < until) return false;
    tx.set(ref, {
      kind: a.kind,
      name: ref.id,
      holder,
      takenAt: Timestamp.fromMillis(a.now),
      expireAt: Timestamp.fromMillis(a.now + a.leaseMs),
    });
    return true;
  });
  if (!taken) return null;
  return {
    key: ref.id,
    async release() {
      try {
        await db.runTransaction(async (tx) => {
          const held = await tx.get(ref);
          if (held.get("holder") === holder) tx.delete(ref);
        });
      } catch (err) {
        logger.warn("lease release failed", { key: ref.id, error: String(err) });
      }
    },
  };
}
