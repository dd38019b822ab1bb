/**
 * What one instance of the `device` function keeps in memory between requests, so that the
 * firmware's steady traffic costs almost nothing in Firestore (docs/DECISIONS.md "Built for the
 * firmware as it is"): per-machine rate buckets, the machine documents raw_data needs, and the
 * secret records of failed authentications. Each instance has its own, so fleet-wide limits are
 * these times maxInstances (functions/src/index.ts).
 */
import type { EncryptedSecret } from "../security/deviceSecret";
import { TokenBuckets } from "../domain/rateLimit";

/** How long a cached machine document is trusted (raw_data only; reports always read afresh). */
export const MACHINE_CACHE_TTL_MS = 60_000;
/** A liveness write (lastSeenAt, pingAt) is made at most this often per machine and instance. */
export const LIVENESS_WRITE_MS = 5 * 60_000;

export interface CachedMachine {
  exists: boolean;
  calibrationOn: boolean;
  online: boolean;
  /** Epoch ms of the last liveness traffic written (heartbeat, raw_data), or null. */
  pingAt: number | null;
  /** The encrypted secret, once an authenticated request needed it (undefined: not read yet). */
  secret?: EncryptedSecret | null;
  /** Epoch ms the document was read. */
  readAt: number;
}

export type DeviceState = ReturnType<typeof createDeviceState>;

/**
 * Bursts of 20 requests and 30 raw_data (a 1 Hz stream with room for catch-up after a Wi-Fi
 * hiccup); the sustained rates are params (config.ts).
 */
export function createDeviceState({ requestsPerSecond = 2, rawDataPerSecond = 3 } = {}) {
  const rawData = { burst: 30, perSecond: rawDataPerSecond };
  return {
    /** Reports, heartbeats and threshold requests. */
    requests: new TokenBuckets({ burst: 20, perSecond: requestsPerSecond }),
    /** Authenticated raw_data. */
    rawData: new TokenBuckets(rawData),
    /** raw_data without credentials (anyone can send it; it must not spend the board's bucket). */
    rawDataUnsigned: new TokenBuckets(rawData),
    /**
     * Failed authentications: 10 at once, then one every 6 seconds. Past that, a guess is checked
     * against the secret record already held and refused with 429 without a read; the right secret
     * still gets through (a stranger cannot lock a board out).
     */
    authFailures: new TokenBuckets({ burst: 10, perSecond: 1 / 6 }),
    /** Secret records of machines that failed authentication, for checks without a read. */
    failedSecrets: new Map<string, EncryptedSecret | null>(),
    machines: new Map<string, CachedMachine>(),
    /** Machines whose secret record did not decrypt (logged once). */
    undecryptable: new Set<string>(),
  };
}
