/**
 * What one instance of the `device` function keeps in memory between requests, so that the
 * firmware's steady traffic costs almost nothing in Firestore:
 *
 * - rate buckets per machine (domain/rateLimit.ts): a burst allowance, so two distinct reports in
 *   one second both land, while a sustained flood gets 429 without a single write;
 * - the machine documents (and encrypted secrets) `raw_data` needs, each read at most once a
 *   minute: a 1 Hz stream costs one read a minute per machine per instance, and no write per
 *   sample (a liveness write at most every {@link LIVENESS_WRITE_MS});
 * - the machines whose stored secret did not decrypt, so that the admin-facing log line is
 *   written once per machine per instance, not once per request.
 *
 * Cloud Functions may run several instances; each has its own memory, so the fleet-wide limits
 * are these times the number of instances (maxInstances, functions/src/index.ts). Tests build a
 * fresh state per test with {@link createDeviceState}.
 */
import type { EncryptedSecret } from "../security/deviceSecret";
import { type BucketLimits, TokenBuckets } from "../domain/rateLimit";

/** How long a cached machine document is trusted (raw_data only; reports always read afresh). */
const MACHINE_CACHE_TTL_MS = 60_000;
/** A liveness write (lastSeenAt, pingAt) is made at most this often per machine and instance. */
export const LIVENESS_WRITE_MS = 5 * 60_000;

/**
 * Reports, heartbeats and threshold requests of one machine. The sustained rate is the param
 * DEVICE_REQUESTS_PER_SECOND (config.ts; this default is the same).
 */
const REQUEST_LIMITS: BucketLimits = { burst: 20, perSecond: 2 };
/**
 * raw_data of one machine: a 1 Hz stream with room for catch-up after a Wi-Fi hiccup. The
 * sustained rate is the param DEVICE_RAW_DATA_PER_SECOND (config.ts).
 */
const RAW_DATA_LIMITS: BucketLimits = { burst: 30, perSecond: 3 };

/**
 * Failed authentications per machine: 10 at once, then one every 6 seconds. Past that, a guess is
 * checked against the secret record this instance already holds and refused with 429 without a
 * Firestore read; the right secret still gets through (a stranger cannot lock a board out).
 */
const AUTH_FAILURE_LIMITS: BucketLimits = { burst: 10, perSecond: 1 / 6 };

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

export interface DeviceState {
  requests: TokenBuckets;
  /** Authenticated raw_data. */
  rawData: TokenBuckets;
  /** raw_data without credentials (anyone can send it; it must not spend the board's bucket). */
  rawDataUnsigned: TokenBuckets;
  authFailures: TokenBuckets;
  /** Secret records of machines that failed authentication, for checks without a read. */
  failedSecrets: Map<string, EncryptedSecret | null>;
  machines: Map<string, CachedMachine>;
  /** Machines whose secret record did not decrypt (logged once). */
  undecryptable: Set<string>;
}

/** The sustained rates are the params (config.ts); the defaults are the limits above. */
export function createDeviceState({
  requestsPerSecond = REQUEST_LIMITS.perSecond,
  rawDataPerSecond = RAW_DATA_LIMITS.perSecond,
}: { requestsPerSecond?: number; rawDataPerSecond?: number } = {}): DeviceState {
  const rawData: BucketLimits = { ...RAW_DATA_LIMITS, perSecond: rawDataPerSecond };
  return {
    requests: new TokenBuckets({ ...REQUEST_LIMITS, perSecond: requestsPerSecond }),
    rawData: new TokenBuckets(rawData),
    rawDataUnsigned: new TokenBuckets(rawData),
    authFailures: new TokenBuckets(AUTH_FAILURE_LIMITS),
    failedSecrets: new Map(),
    machines: new Map(),
    undecryptable: new Set(),
  };
}

/** The cached machine if it is younger than the TTL. */
export function freshMachine(
  state: DeviceState,
  machineId: string,
  nowMs: number,
): CachedMachine | null {
  const m = state.machines.get(machineId);
  if (!m || nowMs - m.readAt >= MACHINE_CACHE_TTL_MS || nowMs < m.readAt) return null;
  return m;
}

/** Entries each per-machine map keeps at most; the least recently set go first. */
const MAX_ENTRIES = 10_000;

/** Sets `key` as the newest entry of `map`, dropping the oldest past {@link MAX_ENTRIES}. */
export function rememberEntry<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MAX_ENTRIES) {
    const oldest = map.keys().next().value;
    if (oldest !== undefined) map.delete(oldest);
  }
}
