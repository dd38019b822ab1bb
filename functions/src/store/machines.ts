/**
 * Creating rooms and machines (admin API, demo seed, tests) and rotating device secrets.
 * The secret is returned to the caller once and stored only encrypted.
 */
import { FieldValue, type Firestore } from "firebase-admin/firestore";
import type { MachineType } from "../domain/status";
import { encryptSecret, generateDeviceSecret } from "../security/deviceSecret";
import { COL } from "./db";

export interface NewMachine {
  machineId: string;
  roomId: string;
  name: string;
  type: MachineType;
  /** Given for the demo seed and tests; generated otherwise. */
  secret?: string;
}

export async function createRoom(db: Firestore, roomId: string, name: string): Promise<void> {
  await db.collection(COL.rooms).doc(roomId).create({
    name,
    timers: {},
    timersAt: null,
    createdAt: FieldValue.serverTimestamp(),
  });
}

/** Creates the machine and its encrypted secret atomically; fails if the id is taken. */
export async function createMachine(
  db: Firestore,
  m: NewMachine,
  masterKey: string,
): Promise<{ secret: string }> {
  const secret = m.secret ?? generateDeviceSecret();
  const batch = db.batch();
  batch.create(db.collection(COL.machines).doc(m.machineId), {
    roomId: m.roomId,
    name: m.name,
    type: m.type,
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
  });
  batch.create(db.collection(COL.deviceSecrets).doc(m.machineId), {
    ...encryptSecret(secret, masterKey, `machine:${m.machineId}`),
    rotatedAt: FieldValue.serverTimestamp(),
  });
  await batch.commit();
  return { secret };
}

/** Replaces a machine's secret; the old one stops working at once. */
export async function rotateDeviceSecret(
  db: Firestore,
  machineId: string,
  masterKey: string,
): Promise<{ secret: string }> {
  const secret = generateDeviceSecret();
  await db
    .collection(COL.deviceSecrets)
    .doc(machineId)
    .set({
      ...encryptSecret(secret, masterKey, `machine:${machineId}`),
      rotatedAt: FieldValue.serverTimestamp(),
    });
  return { secret };
}

/** The demo data of the local stack: room 1, washers 1–4, dryers 5–6, `demo-secret-<id>`. */
export async function seedDemo(db: Firestore, masterKey: string): Promise<boolean> {
  if ((await db.collection(COL.rooms).doc("1").get()).exists) return false;
  await createRoom(db, "1", "1번 세탁실");
  for (let i = 1; i <= 6; i++) {
    const type: MachineType = i <= 4 ? "washer" : "dryer";
    await createMachine(
      db,
      {
        machineId: String(i),
        roomId: "1",
        name: `${type === "washer" ? "세탁기" : "건조기"} ${i}`,
        type,
        secret: `demo-secret-${i}`,
      },
      masterKey,
    );
  }
  return true;
}
