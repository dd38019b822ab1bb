/**
 * The push document's state machine (store/pushes.ts), as firestore-send-email runs its mail:
 *
 *   PENDING ──lease──▶ PROCESSING ──▶ SENT | FAILED
 *
 * A delivery takes the lease (PENDING → PROCESSING, `leaseExpireAt`) in a transaction, so of
 * concurrent deliveries of the same event exactly one sends. A PROCESSING push whose lease ran out
 * is not sent again: its sender died at an unknown point, possibly after FCM accepted it, and our
 * own recovery must never push twice. It becomes FAILED (`lease-expired`).
 */
import { MINUTE_MS } from "./time";

/** Longer than one send with the sender's retries (at most ~45 s) and shorter than a retry storm. */
const PUSH_LEASE_MS = 2 * MINUTE_MS;

export type PushStep =
  | { kind: "send"; leaseExpireAt: number }
  | { kind: "fail"; error: "lease-expired" | "expired" }
  | { kind: "skip"; reason: "done" | "held" };

/** What a delivery does with a push in `state` at `now`. */
export function nextPushStep(
  push: { state: unknown; leaseExpireAt: number | null; expiresAt: number },
  now: number,
): PushStep {
  switch (push.state) {
    case "PENDING":
      return push.expiresAt <= now
        ? { kind: "fail", error: "expired" }
        : { kind: "send", leaseExpireAt: now + PUSH_LEASE_MS };
    case "PROCESSING":
      return (push.leaseExpireAt ?? 0) > now
        ? { kind: "skip", reason: "held" }
        : { kind: "fail", error: "lease-expired" };
    default:
      return { kind: "skip", reason: "done" };
  }
}
