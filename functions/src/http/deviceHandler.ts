/**
 * The `device` function: firmware reports, heartbeats, raw samples and threshold requests.
 *
 * Built for the firmware as it really is (WashCall_Main): it hard-codes `machine_type: "washer"`,
 * reports only state changes, never retries, ignores the response body, and streams one raw sample
 * a second without a secret. So:
 * - `machine_type` is advisory: the registered type wins; a mismatch is recorded once on the
 *   machine (`reportedType`) for admins.
 * - Rate limits are per-machine burst allowances kept in memory (deviceState.ts): distinct reports
 *   in the same second all land; only a sustained flood gets 429, and a refused request reads and
 *   writes nothing beyond what its authentication needed.
 * - `raw_data` without a secret is a sign of life only; its steady state costs one read a minute
 *   and a liveness write every few minutes per machine, never a write per sample.
 * - Credentials: `secret_key` in the body (the machine's secret, or the fork firmware's device JWT
 *   in that field) or `Authorization: Bearer <JWT>`; HS256 with the device secret, `sub` = machine
 *   id, and either `exp` at most 1 h after `iat`, or no `exp` and an `iat` at most 1 h old.
 *
 * Order of checks on every path: method (405) → size (413) → JSON and schema (400) → machine (404)
 * → secret or token (401/403) → rate (429) → write. Nothing is written before the last step, and
 * that step is one atomic batch whose first write is the one that can fail.
 */
import * as logger from "firebase-functions/logger";
import { type Firestore, Timestamp } from "firebase-admin/firestore";
import { type CalibrationSums, thresholds } from "../domain/calibration";
import { reportId } from "../domain/cycle";
import { type MachineType, isBoundary, normalizeStatus } from "../domain/status";
import { type EncryptedSecret, decryptSecret, secretsEqual } from "../security/deviceSecret";
import { isAlreadyExists, toMillis } from "../data/db";
import { type HttpRequest, type HttpResponse, jsonBody, requireMethod } from "./adapter";
import {
  DeviceUpdateBodySchema,
  HeartbeatBodySchema,
  MAX_CLOCK_SKEW_SECONDS,
  RawDataBatchBodySchema,
  RawDataSampleBodySchema,
  UpdateBodySchema,
} from "./deviceSchemas";
import {
  type CachedMachine,
  type DeviceState,
  LIVENESS_WRITE_MS,
  freshMachine,
  rememberEntry,
  rememberMachine,
} from "./deviceState";
import { HttpError, parseOrThrow } from "./errors";
import { refs } from "../data/refs";

export interface DeviceDeps {
  db: Firestore;
  /** The DEVICE_MASTER_KEY secret's value. */
  masterKey: string;
  now: () => number;
  /** This instance's memory: rate buckets and the machine cache (deviceState.ts). */
  state: DeviceState;
}

/** Longest lifetime a device JWT may have, and the oldest `iat` of a token without `exp`. */
const MAX_TOKEN_LIFETIME_S = 3600;
/** A compact JWS: three base64url parts, the header starting `{"` (`eyJ`). */
const JWT_SHAPE = /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const DECIMAL_ID = /^[1-9][0-9]{0,8}$/;

interface MachineRecord {
  id: string;
  type: MachineType;
  /** The type the firmware last claimed when it differed from the registered one. */
  reportedType: string | null;
}

export function createDeviceHandler(deps: DeviceDeps) {
  return async (req: HttpRequest): Promise<HttpResponse> => {
    switch (req.path.replace(/\/+$/, "")) {
      case "/update":
        return update(deps, req);
      case "/heartbeat":
        return heartbeat(deps, req);
      case "/raw_data":
        return rawData(deps, req);
      case "/device_update":
        return deviceUpdate(deps, req);
      default:
        throw new HttpError(
          404,
          "not_found",
          `no device endpoint ${req.path}; use /update, /heartbeat, /raw_data or /device_update`,
        );
    }
  };
}

function checkClock(timestamp: number, nowMs: number): void {
  if (timestamp > nowMs / 1000 + MAX_CLOCK_SKEW_SECONDS) {
    throw new HttpError(400, "invalid_body", "timestamp: is more than 5 minutes in the future");
  }
}

async function update(deps: DeviceDeps, req: HttpRequest): Promise<HttpResponse> {
  requireMethod(req, "POST");
  const body = parseOrThrow(UpdateBodySchema, jsonBody(req));
  const nowMs = deps.now();
  checkClock(body.timestamp, nowMs);
  refuseIfFlooding(deps, body.machine_id, nowMs);
  const { machine, calibration, auth } = await authenticateFresh(
    deps,
    req,
    body.machine_id,
    body.secret_key,
  );
  spendRequest(deps, machine.id, nowMs);

  const status = normalizeStatus(machine.type, body.status);
  const reportRef = refs(deps.db)
    .reports(machine.id)
    .withConverter(null)
    .doc(reportId(body.timestamp, status));
  const ok = okBody(calibration);
  const magnitudes =
    body.wash_avg_magnitude !== undefined &&
    body.wash_max_magnitude !== undefined &&
    body.spin_max_magnitude !== undefined
      ? {
          washAvg: body.wash_avg_magnitude,
          washMax: body.wash_max_magnitude,
          spinMax: body.spin_max_magnitude,
        }
      : null;

  // A repeat fails on the report's create(), and the batch then writes nothing.
  const batch = deps.db.batch();
  batch.create(reportRef, {
    machineId: machine.id,
    status,
    deviceStatus: body.status,
    boundary: isBoundary(status),
    timestamp: body.timestamp,
    battery: body.battery ?? null,
    magnitudes,
    receivedAt: Timestamp.fromMillis(nowMs),
    auth,
  });
  const claimed = body.machine_type;
  if (claimed !== undefined && claimed !== machine.type && machine.reportedType !== claimed) {
    // Recorded once per claimed type, for admins; the registered type stays in charge.
    batch.update(refs(deps.db).machine(machine.id), {
      reportedType: { type: claimed, firstAt: Timestamp.fromMillis(nowMs) },
    });
  }
  try {
    await batch.commit();
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
    return { status: 200, body: { ...ok, duplicate: true } };
  }
  return { status: 200, body: ok };
}

async function heartbeat(deps: DeviceDeps, req: HttpRequest): Promise<HttpResponse> {
  requireMethod(req, "POST");
  const body = parseOrThrow(HeartbeatBodySchema, jsonBody(req));
  const nowMs = deps.now();
  refuseIfFlooding(deps, body.machine_id, nowMs);
  const { machine } = await authenticateFresh(deps, req, body.machine_id, body.secret_key);
  spendRequest(deps, machine.id, nowMs);
  await refs(deps.db)
    .machine(machine.id)
    .update({
      lastSeenAt: Timestamp.fromMillis(nowMs),
      pingAt: Timestamp.fromMillis(nowMs),
      online: true,
      battery: body.battery,
      ...(body.rssi !== undefined ? { rssi: body.rssi } : {}),
      ...(body.firmware !== undefined ? { firmware: body.firmware } : {}),
    });
  const cached = deps.state.machines.get(machine.id);
  if (cached) rememberMachine(deps.state, machine.id, { ...cached, online: true, pingAt: nowMs });
  return { status: 200, body: { message: "ok" } };
}

/** `POST /device_update` (the seed's route): the board's calibration thresholds, 404 before any. */
async function deviceUpdate(deps: DeviceDeps, req: HttpRequest): Promise<HttpResponse> {
  requireMethod(req, "POST");
  const body = parseOrThrow(DeviceUpdateBodySchema, jsonBody(req));
  const nowMs = deps.now();
  refuseIfFlooding(deps, body.machine_id, nowMs);
  const { machine, calibration } = await authenticateFresh(
    deps,
    req,
    body.machine_id,
    body.secret_key,
  );
  spendRequest(deps, machine.id, nowMs);
  const t = thresholds(calibration);
  if (!t) {
    throw new HttpError(
      404,
      "not_found",
      `machine_id: no thresholds for machine ${machine.id} yet; they follow its first FINISHED report with magnitudes`,
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
  requireMethod(req, "POST");
  const raw = jsonBody(req);
  const isBatch = typeof raw === "object" && raw !== null && "samples" in raw;
  const body = isBatch
    ? parseOrThrow(RawDataBatchBodySchema, raw)
    : parseOrThrow(RawDataSampleBodySchema, raw);
  const nowMs = deps.now();
  checkClock(body.timestamp, nowMs);

  const withCredentials = body.secret_key !== undefined || req.headers.authorization !== undefined;
  if (withCredentials) await refuseGuessWhileLocked(deps, req, body.machine_id, body.secret_key);
  const machine = await cachedMachine(deps, body.machine_id, nowMs, withCredentials);
  if (withCredentials) {
    const enc = machine.secret ?? null;
    // Offline: a token of another machine is a plain 401 here, never a read of its secret.
    await countingFailures(deps, body.machine_id, enc, () =>
      checkCredentials(deps, req, body.machine_id, body.secret_key, enc, { offline: true }),
    );
  }
  // Unsigned samples have a bucket of their own: a stranger's stream cannot starve the board's.
  const buckets = withCredentials ? deps.state.rawData : deps.state.rawDataUnsigned;
  const bucket = buckets.take(body.machine_id, nowMs);
  if (!bucket.allowed) throw rateLimited(body.machine_id, bucket.retryAfterSeconds);
  await keepAlive(deps, body.machine_id, machine, nowMs);

  if (!withCredentials) {
    return {
      status: 200,
      body: { message: "received", stored: false, reason: "no secret: a sign of life only" },
    };
  }
  if (!machine.calibrationOn) {
    return {
      status: 200,
      body: { message: "received", stored: false, reason: "calibration is off" },
    };
  }
  const samples = "samples" in body ? body.samples : [body.magnitude];
  const doc =
    "samples" in body
      ? { timestamp: body.timestamp, samples }
      : {
          timestamp: body.timestamp,
          samples,
          deltas: { x: body.deltaX, y: body.deltaY, z: body.deltaZ },
        };
  try {
    await refs(deps.db)
      .rawData(body.machine_id)
      .doc(String(body.timestamp))
      .create({ ...doc, receivedAt: Timestamp.fromMillis(nowMs) });
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
    return { status: 200, body: { message: "received", stored: false, duplicate: true } };
  }
  return { status: 200, body: { message: "received", stored: true, samples: samples.length } };
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
): Promise<CachedMachine> {
  let m = freshMachine(deps.state, machineId, nowMs);
  if (!m || (needSecret && m.exists && m.secret === undefined)) {
    const machineRef = refs(deps.db).machine(machineId).withConverter(null);
    const [snap, secretSnap] = needSecret
      ? await deps.db.getAll(machineRef, refs(deps.db).deviceSecret(machineId))
      : [await machineRef.get(), undefined];
    const d = snap?.data() ?? {};
    m = {
      exists: snap?.exists === true,
      type: d.type === "dryer" ? "dryer" : "washer",
      calibrationOn: d.calibration === true,
      online: d.online === true,
      pingAt: toMillis(d.pingAt),
      ...(secretSnap ? { secret: encryptedSecretOf(secretSnap) } : {}),
      readAt: nowMs,
    };
    rememberMachine(deps.state, machineId, m);
  }
  if (!m.exists) throw new HttpError(404, "not_found", `machine_id: no machine ${machineId}`);
  return m;
}

/** Writes `lastSeenAt`/`pingAt`/`online` when the stored ones are stale (throttled, see header). */
async function keepAlive(
  deps: DeviceDeps,
  machineId: string,
  m: CachedMachine,
  nowMs: number,
): Promise<void> {
  if (m.online && m.pingAt !== null && nowMs - m.pingAt < LIVENESS_WRITE_MS) return;
  try {
    await refs(deps.db)
      .machine(machineId)
      .update({
        lastSeenAt: Timestamp.fromMillis(nowMs),
        pingAt: Timestamp.fromMillis(nowMs),
        online: true,
      });
  } catch (err) {
    // NOT_FOUND: deleted since it was cached.
    if ((err as { code?: unknown }).code !== 5) throw err;
    deps.state.machines.delete(machineId);
    throw new HttpError(404, "not_found", `machine_id: no machine ${machineId}`);
  }
  rememberMachine(deps.state, machineId, { ...m, online: true, pingAt: nowMs });
}

/**
 * Counts a failed authentication (401/403) against the machine, remembering its secret record so
 * that, once the failures run out, guesses can be refused without reading Firestore.
 */
async function countingFailures<T>(
  deps: DeviceDeps,
  machineId: string,
  enc: EncryptedSecret | null,
  check: () => Promise<T>,
): Promise<T> {
  try {
    return await check();
  } catch (err) {
    if (err instanceof HttpError && (err.status === 401 || err.status === 403)) {
      deps.state.authFailures.take(machineId, deps.now());
      rememberEntry(deps.state.failedSecrets, machineId, enc);
    }
    throw err;
  }
}

/**
 * Once a machine has used up its failed authentications, a request is checked against the secret
 * record remembered at the last failure, without a Firestore read: a wrong guess is a 429, the
 * right credentials go on to the normal (reading) path.
 */
async function refuseGuessWhileLocked(
  deps: DeviceDeps,
  req: HttpRequest,
  machineId: string,
  secretKey: string | undefined,
): Promise<void> {
  const nowMs = deps.now();
  if (deps.state.authFailures.peek(machineId, nowMs)) return;
  const enc = deps.state.failedSecrets.get(machineId);
  if (enc === undefined) return;
  try {
    await checkCredentials(deps, req, machineId, secretKey, enc, { offline: true });
  } catch (err) {
    if (!(err instanceof HttpError) || err.status >= 500) throw err;
    const retry = deps.state.authFailures.take(machineId, nowMs).retryAfterSeconds;
    throw new HttpError(
      429,
      "rate_limited",
      `too many failed authentications for machine ${machineId}; retry in ${retry} s`,
      { "Retry-After": String(retry) },
    );
  }
}

/** 429 before any read when an authenticated flood from this machine has run its bucket dry. */
function refuseIfFlooding(deps: DeviceDeps, machineId: string, nowMs: number): void {
  if (!deps.state.requests.peek(machineId, nowMs)) {
    throw rateLimited(machineId, deps.state.requests.take(machineId, nowMs).retryAfterSeconds);
  }
}

/** Spends one request of the machine's burst allowance (after authentication: only the device can). */
function spendRequest(deps: DeviceDeps, machineId: string, nowMs: number): void {
  const r = deps.state.requests.take(machineId, nowMs);
  if (!r.allowed) throw rateLimited(machineId, r.retryAfterSeconds);
}

/** Machine (404), then credentials (401/403), reading machine, secret and calibration afresh. */
async function authenticateFresh(
  deps: DeviceDeps,
  req: HttpRequest,
  machineId: string,
  secretKey: string | undefined,
): Promise<{
  machine: MachineRecord;
  calibration: CalibrationSums | null;
  auth: "secret" | "jwt";
}> {
  await refuseGuessWhileLocked(deps, req, machineId, secretKey);
  const [machineSnap, secretSnap, calibSnap] = await deps.db.getAll(
    refs(deps.db).machine(machineId).withConverter(null),
    refs(deps.db).deviceSecret(machineId),
    refs(deps.db).machineCalibration(machineId),
  );
  if (!machineSnap?.exists)
    throw new HttpError(404, "not_found", `machine_id: no machine ${machineId}`);
  const data = machineSnap.data() ?? {};
  const reported = (data.reportedType as { type?: unknown } | undefined)?.type;
  const machine: MachineRecord = {
    id: machineId,
    type: data.type === "dryer" ? "dryer" : "washer",
    reportedType: typeof reported === "string" ? reported : null,
  };
  const enc = secretSnap ? encryptedSecretOf(secretSnap) : null;
  const auth = await countingFailures(deps, machineId, enc, () =>
    checkCredentials(deps, req, machineId, secretKey, enc),
  );
  const calib = calibSnap?.exists ? (calibSnap.data() as CalibrationSums) : null;
  return { machine, calibration: calib, auth };
}

function encryptedSecretOf(snap: FirebaseFirestore.DocumentSnapshot): EncryptedSecret | null {
  if (!snap.exists) return null;
  const d = snap.data() ?? {};
  return typeof d.ciphertext === "string" && typeof d.iv === "string" && typeof d.tag === "string"
    ? { ciphertext: d.ciphertext, iv: d.iv, tag: d.tag }
    : null;
}

/**
 * The machine's secret in plaintext, or null. A record that does not decrypt (copied from another
 * machine, or DEVICE_MASTER_KEY changed) is logged once per machine and instance, for admins, and
 * the device is simply unauthenticated (401).
 */
function plainSecret(deps: DeviceDeps, machineId: string, enc: EncryptedSecret | null) {
  if (!enc) return null;
  try {
    return decryptSecret(enc, deps.masterKey, `machine:${machineId}`);
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
 * Checks the credentials a request carries: the secret (or a JWT) in `secret_key`, and/or a
 * Bearer JWT. Every credential present must be valid. 401 for anything wrong; 403 for a genuine
 * token of another machine.
 */
async function checkCredentials(
  deps: DeviceDeps,
  req: HttpRequest,
  machineId: string,
  secretKey: string | undefined,
  enc: EncryptedSecret | null,
  /** offline: never read Firestore (a token of another machine is then simply a 401). */
  opts: { offline?: boolean } = {},
): Promise<"secret" | "jwt"> {
  const secret = plainSecret(deps, machineId, enc);
  const authz = req.headers.authorization;
  if (authz === undefined && secretKey === undefined) {
    throw new HttpError(
      401,
      "unauthenticated",
      "missing secret_key or Authorization: Bearer token",
    );
  }
  let mode: "secret" | "jwt" = "secret";
  if (authz !== undefined) {
    const token = /^Bearer\s+(\S+)$/i.exec(authz)?.[1];
    if (!token) throw new HttpError(401, "unauthenticated", "Authorization must be 'Bearer <JWT>'");
    await verifyDeviceToken(deps, token, machineId, secret, opts);
    mode = "jwt";
  }
  if (secretKey !== undefined) {
    const matches = secret !== null && secretsEqual(secretKey, secret);
    if (!matches) {
      // The fork firmware puts its device JWT in secret_key.
      if (!JWT_SHAPE.test(secretKey)) {
        throw new HttpError(401, "unauthenticated", "secret_key is not this machine's secret");
      }
      await verifyDeviceToken(deps, secretKey, machineId, secret, opts);
      mode = "jwt";
    }
  }
  return mode;
}

async function verifyDeviceToken(
  deps: DeviceDeps,
  token: string,
  machineId: string,
  secret: string | null,
  opts: { offline?: boolean } = {},
): Promise<void> {
  // jose is loaded on first use: only newer firmware sends tokens, and cold starts stay short.
  const { decodeJwt } = await import("jose");
  let claims: Record<string, unknown>;
  try {
    claims = decodeJwt(token);
  } catch {
    throw new HttpError(401, "unauthenticated", "Bearer token is not a JWT");
  }
  const sub = claims.sub;
  if (typeof sub !== "string") {
    throw new HttpError(401, "unauthenticated", "token sub must be the machine id as a string");
  }
  if (sub !== machineId && DECIMAL_ID.test(sub) && !opts.offline) {
    // A genuine token of another machine is a 403; a forged one stays a 401.
    const other = await refs(deps.db).deviceSecret(sub).get();
    const otherSecret = plainSecret(deps, sub, encryptedSecretOf(other));
    if (otherSecret && (await verifies(token, otherSecret, sub, deps.now()))) {
      throw new HttpError(
        403,
        "forbidden",
        `token was issued for machine ${sub}, not ${machineId}`,
      );
    }
    throw new HttpError(401, "unauthenticated", "Bearer token signature or claims are invalid");
  }
  if (!secret || !(await verifies(token, secret, machineId, deps.now()))) {
    throw new HttpError(401, "unauthenticated", "Bearer token signature or claims are invalid");
  }
}

/**
 * Signed with `secret` (HS256), `sub` exactly `expectedSub`, and fresh: with `exp`, unexpired and
 * at most 1 h after its `iat` (or now); without `exp`, an `iat` at most 1 h old and not more than
 * the allowed clock skew in the future.
 */
export async function verifies(
  token: string,
  secret: string,
  expectedSub: string,
  nowMs: number,
): Promise<boolean> {
  const { jwtVerify } = await import("jose");
  const nowS = nowMs / 1000;
  try {
    const { payload } = await jwtVerify(token, new TextEncoder().encode(secret), {
      algorithms: ["HS256"],
      requiredClaims: ["sub"],
      subject: expectedSub,
      currentDate: new Date(nowMs),
    });
    const iat = payload.iat;
    if (payload.exp === undefined) {
      return (
        typeof iat === "number" &&
        iat <= nowS + MAX_CLOCK_SKEW_SECONDS &&
        nowS - iat <= MAX_TOKEN_LIFETIME_S
      );
    }
    return payload.exp - Math.min(iat ?? nowS, nowS) <= MAX_TOKEN_LIFETIME_S;
  } catch {
    return false;
  }
}

function okBody(calibration: CalibrationSums | null) {
  const t = thresholds(calibration);
  return {
    message: "received",
    NewWashThreshold: t?.wash ?? null,
    NewSpinThreshold: t?.spin ?? null,
  };
}

function rateLimited(machineId: string, retryAfterSeconds: number): HttpError {
  return new HttpError(
    429,
    "rate_limited",
    `machine ${machineId} is sending faster than a device does; retry in ${retryAfterSeconds} s`,
    { "Retry-After": String(retryAfterSeconds) },
  );
}
