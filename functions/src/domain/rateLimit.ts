/**
 * Token buckets keyed by a string (a machine id, say): each key may spend `burst` requests at
 * once and earns `perSecond` back over time. A real device's bursts (two state changes in one
 * second, a FINISHED right after a SPINNING) fit inside the burst; a sustained flood runs the
 * bucket dry and is refused until it slows down. Pure: the caller passes the time, and the
 * buckets live in the caller's memory (one function instance), so refusing costs no write.
 *
 * Memory is bounded: at most {@link MAX_ENTRIES} buckets are kept; the least recently used is
 * forgotten first (a forgotten key starts again with a full bucket, which only ever errs towards
 * letting a request through).
 */
interface Bucket {
  tokens: number;
  /** Epoch ms of the last refill. */
  at: number;
}

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

export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly limits: { burst: number; perSecond: number }) {}

  /** Spends one token of `key` at `nowMs` if there is one; else the seconds until one is back. */
  take(key: string, nowMs: number): { allowed: boolean; retryAfterSeconds: number } {
    const b = this.refilled(key, nowMs);
    const allowed = b.tokens >= 1;
    if (allowed) b.tokens -= 1;
    rememberEntry(this.buckets, key, b);
    const wait = Math.max(1, Math.ceil((1 - b.tokens) / this.limits.perSecond));
    return { allowed, retryAfterSeconds: allowed ? 0 : wait };
  }

  /** Whether `key` has a token left at `nowMs`, without spending it. */
  peek(key: string, nowMs: number): boolean {
    return this.refilled(key, nowMs).tokens >= 1;
  }

  /** The bucket of `key` as it stands at `nowMs` (a new key's is full); not stored. */
  private refilled(key: string, nowMs: number): Bucket {
    const b = this.buckets.get(key);
    if (!b) return { tokens: this.limits.burst, at: nowMs };
    // A clock that stepped backwards earns nothing (and takes nothing away).
    const elapsed = Math.max(0, nowMs - b.at) / 1000;
    return {
      tokens: Math.min(this.limits.burst, b.tokens + elapsed * this.limits.perSecond),
      at: Math.max(b.at, nowMs),
    };
  }
}
