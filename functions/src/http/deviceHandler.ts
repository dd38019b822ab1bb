/**
 * The `device` function: firmware reports, heartbeats and calibration samples.
 *
 * Order of checks, the same for every path: method (405) → size (413) → JSON and schema (400)
 * → machine (404) → secret or token (401/403) → rate (429) → write. Nothing is written before
 * the last step, and the last step is one atomic batch, so an error never leaves a trace.
 */
import { type Firestore, FieldValue, Timestamp } from "firebase-admin/firestore";
import { type CalibrationSums, thresholds } from "../domain/calibration";
import { reportId } from "../domain/cycle";
import { type MachineType, isBoundary, normalizeStatus } from "../domain/status";
import { type EncryptedSecret, decryptSecret, secretsEqual } from "../security/deviceSecret";
import { COL, isAlreadyExists } from "../store/db";
import { type HttpRequest, type HttpResponse, jsonBody, requireMethod } from "./adapter";
import {
  HeartbeatBodySchema,
  MAX_CLOCK_SKEW_SECONDS,
  RawDataBodySchema,
  UpdateBodySchema,
} from "./deviceSchemas";
import { HttpError, parseOrThrow } from "./errors";

export interface DeviceDeps {
  db: Firestore;
  /** The DEVICE_MASTER_KEY secret's value. */
  masterKey: string;
  now: () => number;
}

/** Longest lifetime a device JWT may have. */
const MAX_TOKEN_LIFETIME_S = 3600;
/** Rate-limit markers are deleted by a TTL policy on `expireAt` after this long. */
const RATE_MARKER_TTL_MS = 10 * 60_000;

interface MachineRecord {
  id: string;
  type: MachineType;
  calibrationOn: boolean;
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
      default:
        throw new HttpError(
          404,
          "not_found",
          `no device endpoint ${req.path}; use /update, /heartbeat or /raw_data`,
        );
    }
  };
}

async function update(deps: DeviceDeps, req: HttpRequest): Promise<HttpResponse> {
  requireMethod(req, "POST");
  const body = parseOrThrow(UpdateBodySchema, jsonBody(req));
  const nowMs = deps.now();
  if (body.timestamp > nowMs / 1000 + MAX_CLOCK_SKEW_SECONDS) {
    throw new HttpError(400, "invalid_body", "timestamp: is more than 5 minutes in the future");
  }
  const { machine, calibration } = await authenticate(deps, req, body.machine_id, body.secret_key);
  if (body.machine_type && body.machine_type !== machine.type) {
    throw new HttpError(
      400,
      "invalid_body",
      `machine_type: machine ${machine.id} is a ${machine.type}, not a ${body.machine_type}`,
    );
  }
  const status = normalizeStatus(machine.type, body.status);
  const id = reportId(body.timestamp, status);
  const reportRef = deps.db
    .collection(COL.machines)
    .doc(machine.id)
    .collection(COL.reports)
    .doc(id);
  const ok = okBody(calibration);

  // Checked before the batch: the embedded Firestore endpoint applies a failed batch's earlier
  // writes, so the batch below must only ever fail on its first write (the rate marker).
  const existing = await reportRef.get();
  if (existing.exists) return { status: 200, body: { ...ok, duplicate: true } };

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
  const batch = deps.db.batch();
  batch.create(rateMarker(deps, machine.id, "update", nowMs), rateMarkerData(nowMs));
  batch.create(reportRef, {
    machineId: machine.id,
    status,
    deviceStatus: body.status,
    boundary: isBoundary(status),
    timestamp: body.timestamp,
    battery: body.battery ?? null,
    magnitudes,
    receivedAt: Timestamp.fromMillis(nowMs),
    auth: req.headers.authorization ? "jwt" : "secret",
  });
  try {
    await batch.commit();
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
    // Either the same report raced in (a firmware retry: accept it) or a second report this
    // second (rate limit). The batch is atomic, so nothing was written either way.
    if ((await reportRef.get()).exists) return { status: 200, body: { ...ok, duplicate: true } };
    throw rateLimited(machine.id);
  }
  return { status: 200, body: ok };
}

async function heartbeat(deps: DeviceDeps, req: HttpRequest): Promise<HttpResponse> {
  requireMethod(req, "POST");
  const body = parseOrThrow(HeartbeatBodySchema, jsonBody(req));
  const { machine } = await authenticate(deps, req, body.machine_id, body.secret_key);
  const nowMs = deps.now();
  const batch = deps.db.batch();
  batch.create(rateMarker(deps, machine.id, "heartbeat", nowMs), rateMarkerData(nowMs));
  batch.update(deps.db.collection(COL.machines).doc(machine.id), {
    lastSeenAt: Timestamp.fromMillis(nowMs),
    online: true,
    battery: body.battery,
    ...(body.rssi !== undefined ? { rssi: body.rssi } : {}),
    ...(body.firmware !== undefined ? { firmware: body.firmware } : {}),
  });
  await commitOrRateLimit(batch, machine.id);
  return { status: 200, body: { message: "ok" } };
}

async function rawData(deps: DeviceDeps, req: HttpRequest): Promise<HttpResponse> {
  requireMethod(req, "POST");
  const body = parseOrThrow(RawDataBodySchema, jsonBody(req));
  const { machine } = await authenticate(deps, req, body.machine_id, body.secret_key);
  if (!machine.calibrationOn) {
    return {
      status: 200,
      body: { message: "received", stored: false, reason: "calibration is off" },
    };
  }
  const nowMs = deps.now();
  const batch = deps.db.batch();
  batch.create(rateMarker(deps, machine.id, "raw", nowMs), rateMarkerData(nowMs));
  batch.set(
    deps.db
      .collection(COL.machines)
      .doc(machine.id)
      .collection(COL.rawData)
      .doc(String(body.timestamp)),
    { timestamp: body.timestamp, samples: body.samples, receivedAt: Timestamp.fromMillis(nowMs) },
  );
  await commitOrRateLimit(batch, machine.id);
  return { status: 200, body: { message: "received", stored: true, samples: body.samples.length } };
}

/** Machine lookup (404), then the legacy secret or the Bearer JWT (401, 403 for another machine). */
async function authenticate(
  deps: DeviceDeps,
  req: HttpRequest,
  machineId: string,
  secretKey: string | undefined,
): Promise<{ machine: MachineRecord; calibration: CalibrationSums | null }> {
  const [machineSnap, secretSnap, calibSnap] = await deps.db.getAll(
    deps.db.collection(COL.machines).doc(machineId),
    deps.db.collection(COL.deviceSecrets).doc(machineId),
    deps.db.collection(COL.machineCalibration).doc(machineId),
  );
  if (!machineSnap?.exists)
    throw new HttpError(404, "not_found", `machine_id: no machine ${machineId}`);
  const data = machineSnap.data() ?? {};
  const machine: MachineRecord = {
    id: machineId,
    type: data.type === "dryer" ? "dryer" : "washer",
    calibrationOn: data.calibration === true,
  };
  const stored = secretSnap?.exists ? (secretSnap.data() as EncryptedSecret) : null;
  const secretOf = (id: string, enc: EncryptedSecret | null): string | null =>
    enc ? decryptSecret(enc, deps.masterKey, `machine:${id}`) : null;
  const secret = secretOf(machineId, stored);

  const authz = req.headers.authorization;
  if (authz !== undefined) {
    const token = /^Bearer\s+(\S+)$/i.exec(authz)?.[1];
    if (!token) throw new HttpError(401, "unauthenticated", "Authorization must be 'Bearer <JWT>'");
    await verifyDeviceToken(deps, token, machineId, secret);
  }
  if (secretKey !== undefined) {
    if (!secret || !secretsEqual(secretKey, secret)) {
      throw new HttpError(401, "unauthenticated", "secret_key is not this machine's secret");
    }
  }
  if (authz === undefined && secretKey === undefined) {
    throw new HttpError(
      401,
      "unauthenticated",
      "missing secret_key or Authorization: Bearer token",
    );
  }
  const calib = calibSnap?.exists ? (calibSnap.data() as CalibrationSums) : null;
  return { machine, calibration: calib };
}

async function verifyDeviceToken(
  deps: DeviceDeps,
  token: string,
  machineId: string,
  secret: string | null,
): Promise<void> {
  // jose is loaded on first use: only newer firmware sends tokens, and cold starts stay short.
  const { decodeJwt } = await import("jose");
  let sub: string | undefined;
  try {
    sub = decodeJwt(token).sub;
  } catch {
    throw new HttpError(401, "unauthenticated", "Bearer token is not a JWT");
  }
  if (sub !== undefined && sub !== machineId && /^[1-9][0-9]{0,8}$/.test(sub)) {
    // A genuine token of another machine is a 403; a forged one stays a 401.
    const other = await deps.db.collection(COL.deviceSecrets).doc(sub).get();
    const otherSecret = other.exists
      ? decryptSecret(other.data() as EncryptedSecret, deps.masterKey, `machine:${sub}`)
      : null;
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

/** Signed with `secret`, HS256, `sub` exactly `expectedSub`, unexpired, living at most 1 h. */
async function verifies(
  token: string,
  secret: string,
  expectedSub: string,
  nowMs: number,
): Promise<boolean> {
  const { jwtVerify } = await import("jose");
  try {
    const { payload } = await jwtVerify(token, new TextEncoder().encode(secret), {
      algorithms: ["HS256"],
      requiredClaims: ["sub", "exp"],
      subject: expectedSub,
      currentDate: new Date(nowMs),
    });
    const issued = payload.iat ?? nowMs / 1000;
    return (payload.exp ?? 0) - Math.min(issued, nowMs / 1000) <= MAX_TOKEN_LIFETIME_S;
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

function rateMarker(deps: DeviceDeps, machineId: string, kind: string, nowMs: number) {
  return deps.db.collection(COL.deviceRate).doc(`${machineId}-${kind}-${Math.floor(nowMs / 1000)}`);
}

function rateMarkerData(nowMs: number) {
  return {
    createdAt: FieldValue.serverTimestamp(),
    expireAt: Timestamp.fromMillis(nowMs + RATE_MARKER_TTL_MS),
  };
}

function rateLimited(machineId: string): HttpError {
  return new HttpError(
    429,
    "rate_limited",
    `machine ${machineId} sent more than one request this second`,
    {
      "Retry-After": "1",
    },
  );
}

async function commitOrRateLimit(
  batch: FirebaseFirestore.WriteBatch,
  machineId: string,
): Promise<void> {
  try {
    await batch.commit();
  } catch (err) {
    if (isAlreadyExists(err)) throw rateLimited(machineId);
    throw err;
  }
}
