/**
 * Creating rooms and machines and making their device secrets, for the admin API, the console
 * triggers (store/console.ts), the demo seed and tests. A secret is shown to the admin once and
 * stored only encrypted, with a keyed fingerprint that finds reuse (docs/DECISIONS.md "Device
 * secrets").
 */
import { randomBytes } from "node:crypto";
import { FieldValue, type Firestore } from "firebase-admin/firestore";
import { deviceBaseUrl, firmwareSnippet } from "../domain/firmwareSnippet";
import type { Machine } from "../data/model";
import { refs } from "../data/refs";
import { encryptSecret, secretFingerprint, weakSecretReasons } from "../security/deviceSecret";

/** A machine as a secret's firmware snippet and the admin API's answer describe it. */
export type MachineDescription = Pick<Machine, "machineId" | "roomId" | "name" | "type">;

/** The fields of a new room besides its name. */
export function roomDefaults() {
  return { timers: {}, timersAt: null, createdAt: FieldValue.serverTimestamp() };
}

export async function createRoom(db: Firestore, roomId: string, name: string): Promise<void> {
  await refs(db)
    .room(roomId)
    .withConverter(null)
    .create({ name, ...roomDefaults() });
}

/** The fields of a new machine besides its configuration (name, room, type). */
export function machineDefaults() {
  return {
    status: "OFF",
    course: null,
    cycleStartedAt: null,
    spinStartedAt: null,
    expectedEndAt: null,
    expectedEndRange: null,
    newestReportTs: null,
    lastSeenAt: null,
    online: false,
    battery: null,
    outOfOrder: false,
    calibration: false,
    createdAt: FieldValue.serverTimestamp(),
  };
}

/** Creates the machine, its encrypted secret and applied configuration; fails if it exists. */
export async function createMachine(
  db: Firestore,
  m: MachineDescription & { roomId: string; secret: string },
  masterKey: string,
): Promise<void> {
  const { machineId, roomId, name, type } = m;
  const r = refs(db);
  await db
    .batch()
    .create(r.machine(machineId).withConverter(null), { roomId, name, type, ...machineDefaults() })
    .create(r.deviceSecret(machineId), secretRecord(m.secret, masterKey, machineId))
    .set(r.machineConfig(machineId), { roomId, outOfOrder: false })
    .commit();
}

/** The stored form of a device secret: encrypted, plus its keyed fingerprint (reuse checks). */
export function secretRecord(secret: string, masterKey: string, machineId: string) {
  return {
    ...encryptSecret(secret, masterKey, machineId),
    fingerprint: secretFingerprint(secret, masterKey),
    rotatedAt: FieldValue.serverTimestamp(),
  };
}

/**
 * A machine's next device secret as an admin is shown it, once (the API's answer,
 * provisioning/{id}): `chosen` (the one its firmware already has; a weak or reused one is
 * accepted, with the reasons in `warnings`) or a generated one, and the lines to paste into
 * WashCall_Main.ino. The caller stores it with {@link secretRecord}.
 */
export async function newSecret(
  db: Firestore,
  masterKey: string,
  deviceUrl: string,
  m: MachineDescription,
  chosen: string | undefined,
) {
  const secret = chosen ?? randomBytes(32).toString("base64url");
  const shown = {
    secret_key: secret,
    firmware_snippet: firmwareSnippet(deviceUrl, m, secret),
    warnings: [] as string[],
  };
  if (chosen === undefined) return shown;
  shown.warnings = weakSecretReasons(chosen).map((r) => `secret_key: weak secret: ${r}`);
  // Records made before fingerprints existed are not found.
  const sameSecret = await refs(db)
    .deviceSecrets.where("fingerprint", "==", secretFingerprint(chosen, masterKey))
    .limit(20)
    .get();
  const others = sameSecret.docs.map((d) => d.id).filter((id) => id !== m.machineId);
  if (others.length > 0) {
    shown.warnings.push(
      `secret_key: also the secret of machine${others.length > 1 ? "s" : ""} ${others.join(", ")}; a board that knows it can report as any of them`,
    );
  }
  return shown;
}

/** The device function's base URL for firmware snippets, as a request's headers show it. */
export function deviceUrl(headers: Record<string, string | undefined> = {}): string {
  const project = process.env.GCLOUD_PROJECT ?? process.env.GOOGLE_CLOUD_PROJECT ?? "demo-washcall";
  return deviceBaseUrl(headers, project);
}
