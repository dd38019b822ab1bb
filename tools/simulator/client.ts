/**
 * The device side of the HTTP contract: what a board sends to `…/device/update` and
 * `…/device/heartbeat`, with the legacy `secret_key` in the body or an HS256 Bearer JWT signed
 * with the device secret.
 *
 * Polite like firmware: at least 1 s between two requests of the same kind for one machine
 * (counted from the previous response, so the server's per-second marker always differs), 429
 * retried after 1 s (or Retry-After), network errors retried a few times with backoff. Every
 * attempt and its response status is recorded.
 */
import { SignJWT } from "jose";
import type { Magnitudes } from "../../functions/src/domain/cycle";
import type { DeviceStatus, MachineType } from "../../functions/src/domain/status";
import { type ClockDeps, realClockDeps } from "./clock";

export type AuthMode = "secret" | "jwt";
export type RequestKind = "update" | "heartbeat";

export interface DeviceIdentity {
  id: string;
  type: MachineType;
  secret: string;
  auth: AuthMode;
}

export interface UpdateReport {
  status: DeviceStatus;
  /** Device clock, Unix seconds. */
  timestamp: number;
  battery: number;
  magnitudes: Magnitudes | null;
}

export interface Heartbeat {
  battery: number;
  rssi?: number;
  firmware?: string;
}

export interface Attempt {
  /** Real epoch ms the request was sent. */
  at: number;
  /** HTTP status, or null when the request failed on the network. */
  status: number | null;
  latencyMs: number;
  error?: string;
}

export interface SendResult {
  kind: RequestKind;
  machineId: string;
  /** 2xx in the end. */
  ok: boolean;
  /** The last attempt's status (null: network failure on every try). */
  status: number | null;
  body: unknown;
  attempts: Attempt[];
}

export interface DeviceClientOptions {
  /** e.g. http://127.0.0.1:5001/demo-washcall/asia-northeast3/device */
  baseUrl: string;
  /** Most requests in flight at once, over all machines. Default 16. */
  concurrency?: number;
  /** Minimum gap between two requests of one kind for one machine. Default 1000 ms. */
  minGapMs?: number;
  /** How often a 429 is retried. Default 5. */
  max429Retries?: number;
  /** How often a network error is retried. Default 3. */
  maxNetworkRetries?: number;
  /** Per-request timeout. Default 15 s. */
  timeoutMs?: number;
  /** Lifetime of the device JWTs (the server accepts ≤ 1 h). Default 10 min. */
  tokenTtlSeconds?: number;
  fetch?: typeof fetch;
  clock?: ClockDeps;
  /** Told about every retry (for live output). */
  onRetry?: (info: { kind: RequestKind; machineId: string; attempt: Attempt }) => void;
}

/** The body firmware posts to /update (without secret_key in JWT mode). */
export function updateBody(device: DeviceIdentity, report: UpdateReport): Record<string, unknown> {
  return {
    machine_id: wireId(device.id),
    ...(device.auth === "secret" ? { secret_key: device.secret } : {}),
    status: report.status,
    machine_type: device.type,
    timestamp: report.timestamp,
    battery: report.battery,
    ...(report.status === "FINISHED" && report.magnitudes
      ? {
          wash_avg_magnitude: report.magnitudes.washAvg,
          wash_max_magnitude: report.magnitudes.washMax,
          spin_max_magnitude: report.magnitudes.spinMax,
        }
      : {}),
  };
}

export function heartbeatBody(device: DeviceIdentity, hb: Heartbeat): Record<string, unknown> {
  return {
    machine_id: wireId(device.id),
    ...(device.auth === "secret" ? { secret_key: device.secret } : {}),
    battery: hb.battery,
    ...(hb.rssi !== undefined ? { rssi: hb.rssi } : {}),
    ...(hb.firmware !== undefined ? { firmware: hb.firmware } : {}),
  };
}

/** Firmware sends integer ids; anything else goes as the string it is. */
function wireId(id: string): number | string {
  return /^[1-9][0-9]{0,8}$/.test(id) ? Number(id) : id;
}

/** HS256 JWT with `sub` = machine id, signed with the device secret. */
export async function signDeviceToken(
  machineId: string,
  secret: string,
  nowMs: number,
  ttlSeconds = 600,
): Promise<string> {
  const iat = Math.floor(nowMs / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(machineId)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ttlSeconds)
    .sign(new TextEncoder().encode(secret));
}

/** A counting semaphore: at most `limit` holders at once, FIFO. */
export class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {
    if (!(limit >= 1)) throw new Error("concurrency must be at least 1");
  }
  async acquire(): Promise<void> {
    if (this.active < this.limit) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}

export class DeviceClient {
  private readonly baseUrl: string;
  private readonly fetchFn: typeof fetch;
  private readonly clock: ClockDeps;
  private readonly gate: Semaphore;
  private readonly minGapMs: number;
  /** `${machineId}:${kind}` → real ms the previous request of that kind finished. */
  private readonly lastDone = new Map<string, number>();
  private readonly tokens = new Map<string, { token: string; expSec: number }>();

  constructor(private readonly options: DeviceClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.fetchFn = options.fetch ?? fetch;
    this.clock = options.clock ?? realClockDeps;
    this.gate = new Semaphore(options.concurrency ?? 16);
    this.minGapMs = options.minGapMs ?? 1000;
  }

  sendUpdate(device: DeviceIdentity, report: UpdateReport): Promise<SendResult> {
    return this.send(device, "update", updateBody(device, report));
  }

  sendHeartbeat(device: DeviceIdentity, hb: Heartbeat): Promise<SendResult> {
    return this.send(device, "heartbeat", heartbeatBody(device, hb));
  }

  private async send(
    device: DeviceIdentity,
    kind: RequestKind,
    body: Record<string, unknown>,
  ): Promise<SendResult> {
    const max429 = this.options.max429Retries ?? 5;
    const maxNet = this.options.maxNetworkRetries ?? 3;
    const attempts: Attempt[] = [];
    let tries429 = 0;
    let triesNet = 0;
    const payload = JSON.stringify(body);
    for (;;) {
      await this.respectGap(device.id, kind);
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (device.auth === "jwt") headers.authorization = `Bearer ${await this.token(device)}`;
      const attempt = await this.attempt(kind, payload, headers);
      this.lastDone.set(`${device.id}:${kind}`, this.clock.now());
      attempts.push(attempt.record);

      const status = attempt.record.status;
      let retryInMs: number | null = null;
      if (status === 429 && tries429 < max429) {
        tries429++;
        retryInMs = retryAfterMs(attempt.retryAfter);
      } else if (status === null && triesNet < maxNet) {
        triesNet++;
        retryInMs = 250 * 2 ** (triesNet - 1);
      }
      if (retryInMs === null) {
        return {
          kind,
          machineId: device.id,
          ok: status !== null && status >= 200 && status < 300,
          status,
          body: attempt.body,
          attempts,
        };
      }
      this.options.onRetry?.({ kind, machineId: device.id, attempt: attempt.record });
      await this.clock.sleep(retryInMs);
    }
  }

  private async respectGap(machineId: string, kind: RequestKind): Promise<void> {
    const last = this.lastDone.get(`${machineId}:${kind}`);
    if (last === undefined) return;
    const wait = last + this.minGapMs - this.clock.now();
    if (wait > 0) await this.clock.sleep(wait);
  }

  private async token(device: DeviceIdentity): Promise<string> {
    const nowMs = this.clock.now();
    const cached = this.tokens.get(device.id);
    // Renew a minute before expiry.
    if (cached && cached.expSec - 60 > nowMs / 1000) return cached.token;
    const ttl = this.options.tokenTtlSeconds ?? 600;
    const token = await signDeviceToken(device.id, device.secret, nowMs, ttl);
    this.tokens.set(device.id, { token, expSec: Math.floor(nowMs / 1000) + ttl });
    return token;
  }

  private async attempt(
    kind: RequestKind,
    payload: string,
    headers: Record<string, string>,
  ): Promise<{ record: Attempt; body: unknown; retryAfter: string | null }> {
    await this.gate.acquire();
    const at = this.clock.now();
    try {
      const res = await this.fetchFn(`${this.baseUrl}/${kind}`, {
        method: "POST",
        headers,
        body: payload,
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 15_000),
      });
      const text = await res.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      return {
        record: { at, status: res.status, latencyMs: this.clock.now() - at },
        body,
        retryAfter: res.headers.get("retry-after"),
      };
    } catch (err) {
      return {
        record: { at, status: null, latencyMs: this.clock.now() - at, error: describe(err) },
        body: null,
        retryAfter: null,
      };
    } finally {
      this.gate.release();
    }
  }
}

/** Retry-After in seconds (1–10 s honoured); default 1 s. */
function retryAfterMs(header: string | null): number {
  const s = header === null ? NaN : Number(header);
  return Number.isFinite(s) && s >= 1 ? Math.min(s, 10) * 1000 : 1000;
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as Error & { cause?: unknown }).cause;
    const code =
      typeof cause === "object" && cause !== null ? (cause as { code?: unknown }).code : undefined;
    return typeof code === "string" ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}
