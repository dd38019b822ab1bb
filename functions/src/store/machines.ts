/**
 * Creating rooms and machines (admin API, demo seed, tests) and rotating device secrets.
 * The secret is returned to the caller once and stored only encrypted.
 */
import { FieldValue, type Firestore } from "firebase-admin/firestore";
import type { MachineType } from "../domain/status";
import {
  encryptSecret,
  generateDeviceSecret,
  secretFingerprint,
  weakSecretReasons,
} from "../security/deviceSecret";
import { refs } from "../data/refs";

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
  batch.set(refs(db).machineConfig(m.machineId), {
    roomId: m.roomId,
    outOfOrder: false,
  });
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

/**
 * Replaces a machine's secret with `chosen` or a generated one; the old one stops working at
 * once (within a minute for raw_data, which a device instance caches).
 */
export async function rotateDeviceSecret(
  db: Firestore,
  machineId: string,
  masterKey: string,
  chosen?: string,
): Promise<{ secret: string }> {
  const secret = chosen ?? generateDeviceSecret();
  await refs(db)
    .deviceSecret(machineId)
    .set(secretRecord(secret, masterKey, machineId));
  return { secret };
}

/** Other machines whose stored secret is `secret` (records made before fingerprints are not found). */
export async function machinesUsingSecret(
  db: Firestore,
  secret: string,
  masterKey: string,
  except: string,
): Promise<string[]> {
  const snap = await refs(db)
    .deviceSecrets.where("fingerprint", "==", secretFingerprint(secret, masterKey))
    .limit(20)
    .get();
  return snap.docs.map((d) => d.id).filter((id) => id !== except);
}

/** Reasons to warn about an admin-chosen secret: weak, or already another machine's. */
export async function secretWarnings(
  db: Firestore,
  chosen: string | undefined,
  key: string,
  machineId: string,
): Promise<string[]> {
  if (chosen === undefined) return [];
  const warnings = weakSecretReasons(chosen).map((r) => `secret_key: weak secret: ${r}`);
  const others = await machinesUsingSecret(db, chosen, key, machineId);
  if (others.length > 0) {
    warnings.push(
      `secret_key: also the secret of machine${others.length > 1 ? "s" : ""} ${others.join(", ")}; a board that knows it can report as any of them`,
    );
  }
  return warnings;
}
