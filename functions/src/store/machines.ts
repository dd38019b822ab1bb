/**
 * Creating rooms and machines and making their device secrets: the admin API, the console
 * triggers (store/console.ts), the demo seed and tests. A secret is shown to the admin once and
 * stored only encrypted.
 */
import { FieldValue, type Firestore } from "firebase-admin/firestore";
import { deviceBaseUrl, machineSnippet } from "../domain/firmwareSnippet";
import type { MachineType } from "../domain/status";
import type { Machine } from "../data/model";
import { refs } from "../data/refs";
import {
  encryptSecret,
  generateDeviceSecret,
  secretFingerprint,
  weakSecretReasons,
} from "../security/deviceSecret";

export interface NewMachine {
  machineId: string;
  roomId: string;
  name: string;
  type: MachineType;
  /** Chosen by the admin (the secret the board's firmware already has), or generated. */
  secret?: string;
}

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

/** Creates the machine and its encrypted secret atomically; fails if the id is taken. */
export async function createMachine(
  db: Firestore,
  m: NewMachine,
  masterKey: string,
): Promise<{ secret: string }> {
  const secret = m.secret ?? generateDeviceSecret();
  const batch = db.batch();
  batch.create(refs(db).machine(m.machineId).withConverter(null), {
    roomId: m.roomId,
    name: m.name,
    type: m.type,
    ...machineDefaults(),
  });
  batch.create(refs(db).deviceSecret(m.machineId), secretRecord(secret, masterKey, m.machineId));
  batch.set(refs(db).machineConfig(m.machineId), { roomId: m.roomId, outOfOrder: false });
  await batch.commit();
  return { secret };
}

/** The stored form of a device secret: encrypted, plus its keyed fingerprint (reuse checks). */
export function secretRecord(secret: string, masterKey: string, machineId: string) {
  return {
    ...encryptSecret(secret, masterKey, `machine:${machineId}`),
    fingerprint: secretFingerprint(secret, masterKey),
    rotatedAt: FieldValue.serverTimestamp(),
  };
}

/** A machine as a secret's firmware snippet and the admin API's answer describe it. */
export type MachineDescription = Pick<Machine, "machineId" | "roomId" | "name" | "type">;

/** A new device secret as an admin is shown it, once: the API's answer, provisioning/{id}. */
export interface ShownSecret {
  secret_key: string;
  /** The lines to paste into WashCall_Main.ino. */
  firmware_snippet: string;
  /** Why a chosen secret is weak or another machine's too; empty for a generated one. */
  warnings: string[];
}

/**
 * A machine's next device secret: `chosen` (the one its firmware already has; a weak or reused
 * one is accepted, with the reasons in `warnings`) or a generated one. The caller stores it with
 * {@link secretRecord}; the old one stops working at once (within a minute for raw_data, which a
 * device instance caches).
 */
export async function newSecret(
  db: Firestore,
  masterKey: string,
  deviceUrl: string,
  m: MachineDescription,
  chosen: string | undefined,
): Promise<ShownSecret> {
  const secret = chosen ?? generateDeviceSecret();
  return {
    secret_key: secret,
    firmware_snippet: machineSnippet(deviceUrl, m, secret),
    warnings: chosen === undefined ? [] : await secretWarnings(db, chosen, masterKey, m.machineId),
  };
}

/** Why `chosen` is weak, or whose it already is (records made before fingerprints are not found). */
async function secretWarnings(
  db: Firestore,
  chosen: string,
  masterKey: string,
  machineId: string,
): Promise<string[]> {
  const warnings = weakSecretReasons(chosen).map((r) => `secret_key: weak secret: ${r}`);
  const sameSecret = await refs(db)
    .deviceSecrets.where("fingerprint", "==", secretFingerprint(chosen, masterKey))
    .limit(20)
    .get();
  const others = sameSecret.docs.map((d) => d.id).filter((id) => id !== machineId);
  if (others.length > 0) {
    warnings.push(
      `secret_key: also the secret of machine${others.length > 1 ? "s" : ""} ${others.join(", ")}; a board that knows it can report as any of them`,
    );
  }
  return warnings;
}

/** The device function's base URL for firmware snippets, as a request's headers show it. */
export function deviceUrl(headers: Record<string, string | undefined> = {}): string {
  const project = process.env.GCLOUD_PROJECT ?? process.env.GOOGLE_CLOUD_PROJECT ?? "demo-washcall";
  return deviceBaseUrl(headers, project);
}
