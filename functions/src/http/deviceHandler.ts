/**
 * The `device` function: firmware reports, heartbeats, raw samples and threshold requests, built
 * for the firmware as it really is (docs/DECISIONS.md "Built for the firmware as it is"): the
 * registered machine type wins, rate limits are in-memory burst allowances, and unsigned raw_data
 * is a sign of life that costs no write per sample.
 *
 * Checks, in order: method (405) → size (413) → JSON and schema (400) → machine (404) → secret or
 * token (401/403) → rate (429) → write. Nothing is written before the last step; a report's write
 * is one batch whose first write (the report's create()) is the one that can fail.
 */
import * as logger from "firebase-functions/logger";
import { type DocumentSnapshot, Timestamp } from "firebase-admin/firestore";
import type { z } from "zod";
import { thresholds } from "../domain/calibration";
import { DECIMAL_ID } from "../domain/consoleConfig";
import { reportId } from "../domain/cycle";
import { TokenBuckets, rememberEntry } from "../domain/rateLimit";
import { isBoundary, normalizeStatus } from "../domain/status";
import {
  type EncryptedSecret,
  EncryptedSecretSchema,
  decryptSecret,
  secretsEqual,
} from "../security/deviceSecret";
import { isAlreadyExists, isNotFound } from "../data/db";
import type { Machine } from "../data/model";
import { refs } from "../data/refs";
import type { Settings } from "../config";
import type { Invocation } from "../invocation";
import { type HttpRequest, type HttpResponse, jsonBody, requireMethod } from "./adapter";
import {
  DeviceUpdateBodySchema,
  HeartbeatBodySchema,
  MAX_CLOCK_SKEW_SECONDS,
  RawDataBatchBodySchema,
  RawDataSampleBodySchema,
  UpdateBodySchema,
} from "./deviceSchemas";
import { HttpError, parseOrThrow } from "./errors";
import { noMachine } from "./routes/common";

/** The invocation's database and clock, the DEVICE_MASTER_KEY's value and this instance's memory. */
export type DeviceDeps = Pick<Invocation, "db" | "now"> & { masterKey: string; state: DeviceState };

/** How long a cached machine document is trusted (raw_data only; reports always read afresh). */
const MACHINE_CACHE_TTL_MS = 60_000;
/** A liveness write (lastSeenAt, pingAt) is made at most this often per machine and instance. */
const LIVENESS_WRITE_MS = 5 * 60_000;

interface CachedMachine {
  /** The machine document, undefined when there is none. */
  machine: Machine | undefined;
  /** The encrypted secret, once an authenticated request needed it (undefined: not read yet). */
  secret?: EncryptedSecret | null;
  /** Epoch ms the document was read. */
  readAt: number;
}

export type DeviceState = ReturnType<typeof createDeviceState>;

/**
 * What one instance keeps in memory between requests, so that the firmware's steady traffic costs
 * almost nothing in Firestore: per-machine rate buckets, the machine documents raw_data needs, and
 * the secret records of failed authentications. Each instance has its own, so fleet-wide limits
 * are these times maxInstances (index.ts). Bursts of 20 requests and 30 raw_data (a 1 Hz stream
 * with room for catch-up after a Wi-Fi hiccup); the sustained rates are params (config.ts).
 */
export function createDeviceState({ requestsPerSecond, rawDataPerSecond }: Settings["device"]) {
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

/** What every device body carries (deviceSchemas.ts). */
type DeviceBody = z.output<typeof DeviceUpdateBodySchema> & { timestamp?: number };

/** Longest lifetime a device JWT may have, and the oldest `iat` of a token without `exp`. */
const MAX_TOKEN_LIFETIME_S = 3600;
/** A compact JWS: three base64url parts, the header starting `{"` (`eyJ`). */
const JWT_SHAPE = /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

const ENDPOINTS = new Map([
  ["/update", update],
  ["/heartbeat", heartbeat],
  ["/raw_data", rawData],
  ["/device_update", deviceUpdate],
]);

export function createDeviceHandler(deps: DeviceDeps) {
  return async (req: HttpRequest): Promise<HttpResponse> => {
    const endpoint = ENDPOINTS.get(req.path.replace(/\/+$/, ""));
    if (!endpoint) {
      throw new HttpError(
        404,
        "not_found",
        `no device endpoint ${req.path}; use /update, /heartbeat, /raw_data or /device_update`,
      );
    }
    return endpoint(deps, req);
  };
}

async function update(deps: DeviceDeps, req: HttpRequest): Promise<HttpResponse> {
  const { body, nowMs, machine, auth, t } = await authenticated(deps, req, UpdateBodySchema);
  const { type } = machine;
  const status = normalizeStatus(type, body.status);
  const {
    wash_avg_magnitude: washAvg,
    wash_max_magnitude: washMax,
    spin_max_magnitude: spinMax,
  } = body;
  const r = refs(deps.db);
  // A repeat fails on the report's create(), and the batch then writes nothing.
  const batch = deps.db.batch();
  batch.create(
    r.reports(body.machine_id).withConverter(null).doc(reportId(body.timestamp, status)),
    {
      machineId: body.machine_id,
      status,
      deviceStatus: body.status,
      boundary: isBoundary(status),
      timestamp: body.timestamp,
      battery: body.battery ?? null,
      magnitudes:
        washAvg !== undefined && washMax !== undefined && spinMax !== undefined
          ? { washAvg, washMax, spinMax }
          : null,
      receivedAt: Timestamp.fromMillis(nowMs),
      auth,
    },
  );
  const claimed = body.machine_type;
  if (claimed !== undefined && claimed !== type && machine.reportedType !== claimed) {
    // Recorded once per claimed type, for admins; the registered type stays in charge.
    batch.update(r.machine(body.machine_id), {
      reportedType: { type: claimed, firstAt: Timestamp.fromMillis(nowMs) },
    });
  }
  const ok = {
    message: "received",
    NewWashThreshold: t?.wash ?? null,
    NewSpinThreshold: t?.spin ?? null,
  };
  try {
    await batch.commit();
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
    return { status: 200, body: { ...ok, duplicate: true } };
  }
  return { status: 200, body: ok };
}

async function heartbeat(deps: DeviceDeps, req: HttpRequest): Promise<HttpResponse> {
  const { body, nowMs } = await authenticated(deps, req, HeartbeatBodySchema);
  // battery, and rssi and firmware when sent.
  const { machine_id: machineId, secret_key, ...fields } = body;
  await writeAlive(deps, machineId, nowMs, fields);
  return { status: 200, body: { message: "ok" } };
}

/** `POST /device_update` (the seed's route): the board's calibration thresholds, 404 before any. */
async function deviceUpdate(deps: DeviceDeps, req: HttpRequest): Promise<HttpResponse> {
  const { body, t } = await authenticated(deps, req, DeviceUpdateBodySchema);
  if (!t) {
    throw new HttpError(
      404,
      "not_found",
      `machine_id: no thresholds for machine ${body.machine_id} yet; they follow its first FINISHED report with magnitudes`,
    );
  }
  return { status: 200, body: { NewWashThreshold: t.wash, NewSpinThreshold: t.spin } };
}

/**
 * `POST /raw_data`: WashCall_Main's one sample a second (no secret), or a batch of samples.
 * Without credentials: a sign of life only. With them: stored while calibration is on, the first
 * write of a timestamp wins.
 */
async function rawData(deps: DeviceDeps, req: HttpRequest): Promise<HttpResponse> {
  const { body, nowMs } = parseBody(deps, req, (raw) =>
    typeof raw === "object" && raw !== null && "samples" in raw
      ? RawDataBatchBodySchema
      : RawDataSampleBodySchema,
  );
  const machineId = body.machine_id;
  const withCredentials = body.secret_key !== undefined || req.headers.authorization !== undefined;
  if (withCredentials) await refuseGuessWhileLocked(deps, req, body);
  const { machine, secret } = await cachedMachine(deps, machineId, nowMs, withCredentials);
  // Offline: a token of another machine is a plain 401 here, never a read of its secret.
  if (withCredentials) await authenticate(deps, req, body, secret ?? null, true);
  // Unsigned samples have a bucket of their own: a stranger's stream cannot starve the board's.
  spend(withCredentials ? deps.state.rawData : deps.state.rawDataUnsigned, machineId, nowMs);
  if (!machine.online || machine.pingAt === null || nowMs - machine.pingAt >= LIVENESS_WRITE_MS) {
    await writeAlive(deps, machineId, nowMs).catch((err: unknown) => {
      // NOT_FOUND: deleted since it was cached.
      if (!isNotFound(err)) throw err;
      deps.state.machines.delete(machineId);
      throw noMachine(machineId);
    });
  }

  if (!withCredentials || !machine.calibration) {
    const reason = withCredentials ? "calibration is off" : "no secret: a sign of life only";
    return { status: 200, body: { message: "received", stored: false, reason } };
  }
  const samples = "samples" in body ? body.samples : [body.magnitude];
  try {
    await refs(deps.db)
      .rawData(machineId)
      .doc(String(body.timestamp))
      .create({
        timestamp: body.timestamp,
        samples,
        ...("samples" in body
          ? {}
          : { deltas: { x: body.deltaX, y: body.deltaY, z: body.deltaZ } }),
        receivedAt: Timestamp.fromMillis(nowMs),
      });
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
    return { status: 200, body: { message: "received", stored: false, duplicate: true } };
  }
  return { status: 200, body: { message: "received", stored: true, samples: samples.length } };
}

/** Method, size, JSON, the schema `schemaFor` picks, and a device clock at most 5 min ahead. */
function parseBody<S extends z.ZodType<DeviceBody>>(
  deps: DeviceDeps,
  req: HttpRequest,
  schemaFor: (raw: unknown) => S,
): { body: z.output<S>; nowMs: number } {
  requireMethod(req, "POST");
  const raw = jsonBody(req);
  const body = parseOrThrow(schemaFor(raw), raw);
  const nowMs = deps.now();
  if (body.timestamp !== undefined && body.timestamp > nowMs / 1000 + MAX_CLOCK_SKEW_SECONDS) {
    throw new HttpError(400, "invalid_body", "timestamp: is more than 5 minutes in the future");
  }
  return { body, nowMs };
}

/**
 * What /update, /heartbeat and /device_update share: the body, the machine (404) and its
 * credentials (401/403), read afresh, then one request of the allowance (429); and the thresholds
 * from the calibration sums the report trigger adds FINISHED magnitudes to (store/applyReport.ts).
 */
async function authenticated<S extends z.ZodType<DeviceBody>>(
  deps: DeviceDeps,
  req: HttpRequest,
  schema: S,
) {
  const { body, nowMs } = parseBody(deps, req, () => schema);
  const machineId = body.machine_id;
  const { requests } = deps.state;
  // An empty bucket is refused before any read (take() on it spends nothing). Only authenticated
  // requests spend: a stranger cannot starve a board.
  if (!requests.peek(machineId, nowMs)) spend(requests, machineId, nowMs);
  await refuseGuessWhileLocked(deps, req, body);
  const { machine, secret } = await readMachine(deps, machineId);
  if (!machine) throw noMachine(machineId);
  const auth = await authenticate(deps, req, body, secret);
  spend(requests, machineId, nowMs);
  return { body, nowMs, auth, machine, t: thresholds(machine.calibrationSums) };
}

/** The machine document (undefined: none) and its encrypted secret, in one round trip. */
async function readMachine(deps: DeviceDeps, machineId: string) {
  const r = refs(deps.db);
  const [machine, secret] = await deps.db.getAll(r.machine(machineId), r.deviceSecret(machineId));
  return {
    // getAll answers in the order asked; a mixed list loses the machine converter's type.
    machine: (machine as DocumentSnapshot<Machine>).data(),
    secret: encryptedSecretOf(secret),
  };
}

/**
 * The machine document (and, when credentials came, its encrypted secret) from this instance's
 * cache, read again at most once a minute. A missing machine is cached too (404 without a read).
 */
async function cachedMachine(
  deps: DeviceDeps,
  machineId: string,
  nowMs: number,
  needSecret: boolean,
): Promise<CachedMachine & { machine: Machine }> {
  let m = deps.state.machines.get(machineId);
  const stale = !m || nowMs - m.readAt >= MACHINE_CACHE_TTL_MS || nowMs < m.readAt;
  if (!m || stale || (needSecret && m.machine && m.secret === undefined)) {
    const read = needSecret
      ? await readMachine(deps, machineId)
      : { machine: (await refs(deps.db).machine(machineId).get()).data() };
    m = { ...read, readAt: nowMs };
    rememberEntry(deps.state.machines, machineId, m);
  }
  const { machine } = m;
  if (!machine) throw noMachine(machineId);
  return { ...m, machine };
}

/**
 * Liveness traffic (heartbeat, raw_data) written on the machine, with `fields`; raw_data's cached
 * copy learns of it, so it writes none of its own for a while.
 */
async function writeAlive(deps: DeviceDeps, machineId: string, nowMs: number, fields = {}) {
  const at = Timestamp.fromMillis(nowMs);
  await refs(deps.db)
    .machine(machineId)
    .update({ ...fields, lastSeenAt: at, pingAt: at, online: true });
  const cached = deps.state.machines.get(machineId);
  if (cached?.machine) {
    const machine = { ...cached.machine, online: true, pingAt: nowMs };
    rememberEntry(deps.state.machines, machineId, { ...cached, machine });
  }
}

/**
 * Once a machine has used up its failed authentications, a request is checked against the secret
 * record remembered at the last failure, without a read: a wrong guess is a 429, the right
 * credentials go on to the normal path.
 */
async function refuseGuessWhileLocked(
  deps: DeviceDeps,
  req: HttpRequest,
  body: DeviceBody,
): Promise<void> {
  const machineId = body.machine_id;
  const nowMs = deps.now();
  if (deps.state.authFailures.peek(machineId, nowMs)) return;
  const enc = deps.state.failedSecrets.get(machineId);
  if (enc === undefined) return;
  try {
    await authenticate(deps, req, body, enc, true);
  } catch (err) {
    if (!(err instanceof HttpError) || err.status >= 500) throw err;
    throw rateLimited(
      `too many failed authentications for machine ${machineId}`,
      deps.state.authFailures.take(machineId, nowMs).retryAfterSeconds,
    );
  }
}

function encryptedSecretOf(snap: DocumentSnapshot): EncryptedSecret | null {
  return EncryptedSecretSchema.safeParse(snap.data()).data ?? null;
}

/**
 * The machine's secret in plaintext, or null. A record that does not decrypt (copied from another
 * machine, or DEVICE_MASTER_KEY changed) is logged once per machine and instance, for admins, and
 * the device is simply unauthenticated (401).
 */
function plainSecret(deps: DeviceDeps, machineId: string, enc: EncryptedSecret | null) {
  if (!enc) return null;
  try {
    return decryptSecret(enc, deps.masterKey, machineId);
  } catch {
    if (!deps.state.undecryptable.has(machineId)) {
      deps.state.undecryptable.add(machineId);
      logger.error(
        "device secret does not decrypt: DEVICE_MASTER_KEY changed or the record was copied; rotate the machine's secret",
        { machineId },
      );
    }
    return null;
  }
}

/**
 * Every credential present must be valid: the secret (or a JWT) in `secret_key`, a Bearer JWT.
 * 401 for anything wrong; 403 for a genuine token of another machine, unless `offline` (no
 * Firestore read: such a token is then a 401). A 401/403 counts against the machine, whose record
 * is remembered for {@link refuseGuessWhileLocked}.
 */
async function authenticate(
  deps: DeviceDeps,
  req: HttpRequest,
  { machine_id: machineId, secret_key: secretKey }: DeviceBody,
  enc: EncryptedSecret | null,
  offline = false,
): Promise<"secret" | "jwt"> {
  try {
    const secret = plainSecret(deps, machineId, enc);
    const authz = req.headers.authorization;
    if (authz === undefined && secretKey === undefined) {
      throw unauthenticated("missing secret_key or Authorization: Bearer token");
    }
    let mode: "secret" | "jwt" = "secret";
    if (authz !== undefined) {
      const token = /^Bearer\s+(\S+)$/i.exec(authz)?.[1];
      if (!token) throw unauthenticated("Authorization must be 'Bearer <JWT>'");
      await verifyDeviceToken(deps, token, machineId, secret, offline);
      mode = "jwt";
    }
    if (secretKey !== undefined && !(secret !== null && secretsEqual(secretKey, secret))) {
      // The fork firmware puts its device JWT in secret_key.
      if (!JWT_SHAPE.test(secretKey))
        throw unauthenticated("secret_key is not this machine's secret");
      await verifyDeviceToken(deps, secretKey, machineId, secret, offline);
      mode = "jwt";
    }
    return mode;
  } catch (err) {
    if (err instanceof HttpError && (err.status === 401 || err.status === 403)) {
      deps.state.authFailures.take(machineId, deps.now());
      rememberEntry(deps.state.failedSecrets, machineId, enc);
    }
    throw err;
  }
}

/**
 * A device JWT is valid when signed with the machine's secret (HS256), its `sub` exactly the
 * machine id, and fresh: with `exp`, unexpired and at most 1 h after its `iat` (or now); without
 * `exp`, an `iat` at most 1 h old and not more than the allowed clock skew in the future.
 */
async function verifyDeviceToken(
  deps: DeviceDeps,
  token: string,
  machineId: string,
  secret: string | null,
  offline: boolean,
): Promise<void> {
  // jose is loaded on first use: only newer firmware sends tokens, and cold starts stay short.
  const { decodeJwt, jwtVerify } = await import("jose");
  let sub: unknown;
  try {
    sub = decodeJwt(token).sub;
  } catch {
    throw unauthenticated("Bearer token is not a JWT");
  }
  if (typeof sub !== "string") {
    throw unauthenticated("token sub must be the machine id as a string");
  }
  // A token of another machine is checked with that machine's secret: a genuine one is a 403, a
  // forged one stays a 401.
  const other = sub !== machineId && DECIMAL_ID.test(sub) && !offline;
  const key = other
    ? plainSecret(deps, sub, encryptedSecretOf(await refs(deps.db).deviceSecret(sub).get()))
    : secret;
  const nowMs = deps.now();
  const nowS = nowMs / 1000;
  const verified = key
    ? await jwtVerify(token, new TextEncoder().encode(key), {
        algorithms: ["HS256"],
        subject: other ? sub : machineId,
        currentDate: new Date(nowMs),
      }).catch(() => null)
    : null;
  const { iat, exp } = verified?.payload ?? {};
  const fresh =
    exp === undefined
      ? typeof iat === "number" &&
        iat <= nowS + MAX_CLOCK_SKEW_SECONDS &&
        nowS - iat <= MAX_TOKEN_LIFETIME_S
      : exp - Math.min(iat ?? nowS, nowS) <= MAX_TOKEN_LIFETIME_S;
  if (!verified || !fresh) throw unauthenticated("Bearer token signature or claims are invalid");
  if (other) {
    throw new HttpError(403, "forbidden", `token was issued for machine ${sub}, not ${machineId}`);
  }
}

/** Spends one request of the machine's allowance in `buckets`, or refuses with 429. */
function spend(buckets: TokenBuckets, machineId: string, nowMs: number): void {
  const { allowed, retryAfterSeconds } = buckets.take(machineId, nowMs);
  if (!allowed) {
    throw rateLimited(
      `machine ${machineId} is sending faster than a device does`,
      retryAfterSeconds,
    );
  }
}

function rateLimited(reason: string, retryAfterSeconds: number): HttpError {
  return new HttpError(429, "rate_limited", `${reason}; retry in ${retryAfterSeconds} s`, {
    "Retry-After": String(retryAfterSeconds),
  });
}

function unauthenticated(message: string): HttpError {
  return new HttpError(401, "unauthenticated", message);
}
