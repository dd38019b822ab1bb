/**
 * Edits made in the Firebase console, with the same consequences as the admin API: the console
 * triggers (triggers/on*Written.ts) call these, and these call the use cases the API calls
 * (createMachine's defaults and secret record, rotateDeviceSecret, clearBroken, the queue).
 *
 * Rules (docs/ADMIN.md is the how-to):
 * - A configuration edit (domain/consoleConfig.ts) that is invalid is REVERTED to the value
 *   before it, with `configError: {problems, at}` on the document saying why, and every admin is
 *   told in their inbox. A new document has nothing to revert to: it is flagged (configError)
 *   and not provisioned until an edit makes it valid.
 * - Consequences are state-based (they bring the world to what the configuration now says), so
 *   a trigger delivered twice, or after the API already did the same, changes nothing more.
 * - Own writes: the triggers act only when a configuration field changed; what they write
 *   (defaults, configError, reverts of an invalid value) either is not configuration or puts
 *   back a value that was already applied.
 * - A machine created in the console is provisioned: a generated secret (or the admin's own,
 *   put in `provisioning/{machineId}.chosen_secret` beforehand) is stored encrypted, and shown
 *   once in the server-only `provisioning/{machineId}` (`secret_key`, `firmware_snippet`,
 *   `warnings`), which expires after a day. Writing `rotate: true` (and optionally
 *   `chosen_secret`) there rotates the secret the same way.
 * - A deleted machine or room is cleaned up; cycles and statistics stay.
 */
import * as logger from "firebase-functions/logger";
import { FieldValue, type Firestore, Timestamp } from "firebase-admin/firestore";
import {
  type ConfigProblem,
  MACHINE_CONFIG_FIELDS,
  ROOM_CONFIG_FIELDS,
  changedFields,
  checkMachineConfig,
  checkRoomConfig,
} from "../domain/consoleConfig";
import { configErrorMessage } from "../domain/messages";
import { machineSnippet } from "../domain/firmwareSnippet";
import type { PushTransport } from "../services/fcm/transport";
import { adminUids } from "./admins";
import { clearBroken } from "./broken";
import { COL, isAlreadyExists } from "./db";
import { deliverInbox } from "./inbox";
import {
  machineDefaults,
  roomDefaults,
  rotateDeviceSecret,
  secretRecord,
  secretWarnings,
} from "./machines";
import { QUEUES, onMachineFreed, withdrawMachineOffer } from "./queue";
import { generateDeviceSecret } from "../security/deviceSecret";

/** provisioning/{machineId}: a new or rotated device secret, for console users, for a day. */
export const PROVISIONING = "provisioning";
export const PROVISIONING_TTL_MS = 24 * 3600_000;
const CONFIG_NOTICE_TTL_SECONDS = 24 * 3600;
/** Subcollections of a machine that go with it (cycles and statistics are elsewhere and stay). */
const MACHINE_SUBCOLLECTIONS = ["watchers", "reports", "rawData", "brokenReports", "brokenArchive"];

export interface ConsoleDeps {
  db: Firestore;
  now: number;
  masterKey: string;
  /** The device function's base URL, for firmware snippets. */
  deviceUrl: string;
  transport: PushTransport;
  appUrl: string;
  claimWindowMinutes: number;
}

type Data = Record<string, unknown>;

export interface DocumentVersion {
  data: Data;
  /** The version's update time (ms), a precondition for writes that answer it. */
  updateTime: number;
}

export type ConsoleOutcome =
  "unchanged" | "applied" | "provisioned" | "reverted" | "flagged" | "superseded" | "deleted";

/** Tells every admin, once per edit (the notice id carries the edit's update time). */
async function noticeAdmins(
  deps: ConsoleDeps,
  what: { kind: "machine" | "room"; id: string; roomId: string | null; problems: ConfigProblem[] },
  editTime: number,
): Promise<void> {
  const uids = await adminUids(deps.db);
  await deliverInbox(
    { db: deps.db, now: () => deps.now, transport: deps.transport, appUrl: deps.appUrl },
    uids.map((uid) => ({
      uid,
      notificationId: `config-${what.kind}-${what.id}-${editTime}`,
      type: "config_error",
      machineId: what.kind === "machine" ? what.id : "",
      roomId: what.roomId,
      text: (locale) => configErrorMessage(what, locale),
      ttlSeconds: CONFIG_NOTICE_TTL_SECONDS,
    })),
  );
}

function configError(problems: ConfigProblem[], now: number) {
  return { problems, at: Timestamp.fromMillis(now) };
}

/** Writes `update` unless the document changed since `version` (a newer edit then decides). */
async function answer(
  ref: FirebaseFirestore.DocumentReference,
  version: DocumentVersion,
  update: Data,
): Promise<boolean> {
  try {
    await ref.update(update, { lastUpdateTime: Timestamp.fromMillis(version.updateTime) });
    return true;
  } catch (err) {
    const code = (err as { code?: number }).code;
    if (code === 9 || code === 5) return false; // FAILED_PRECONDITION / NOT_FOUND: superseded
    throw err;
  }
}

/** Invalid fields back to their previous valid values; fields with none are left (flagged). */
function revertOf(before: Data | null, problems: ConfigProblem[], valid: (d: Data) => boolean) {
  const out: Data = {};
  if (!before || !valid(before)) return out;
  for (const p of problems) out[p.field] = before[p.field] ?? FieldValue.delete();
  return out;
}

// ------------------------------------------------------------------------------ machines

/** machines/{id} written in the console (or by anything else: only configuration matters). */
export async function onMachineWritten(
  deps: ConsoleDeps,
  machineId: string,
  before: DocumentVersion | null,
  after: DocumentVersion | null,
): Promise<ConsoleOutcome> {
  if (!after) {
    if (!before) return "unchanged";
    // Re-created since (a late delivery of the delete): the new machine is not cleaned away.
    if ((await deps.db.collection(COL.machines).doc(machineId).get()).exists) return "superseded";
    await cleanUpMachine(deps, machineId, roomOf(before.data));
    return "deleted";
  }
  // Most machine writes are the report trigger's state: no configuration changed, no read.
  const changed = changedFields(MACHINE_CONFIG_FIELDS, before?.data ?? null, after.data);
  if (before && changed.length === 0) return "unchanged";
  const provisioned = (await deps.db.collection(COL.deviceSecrets).doc(machineId).get()).exists;
  if (provisioned && changed.length === 0) return "unchanged";

  const ref = deps.db.collection(COL.machines).doc(machineId);
  const { config, problems } = checkMachineConfig(after.data);
  if (config) {
    const room = await deps.db.collection(COL.rooms).doc(config.roomId).get();
    if (!room.exists) problems.push({ field: "roomId", reason: `no room ${config.roomId}` });
  }
  if (problems.length > 0) {
    const valid = (d: Data) => checkMachineConfig(d).config !== null;
    const revert = revertOf(before?.data ?? null, problems, valid);
    const reverted = Object.keys(revert).length > 0;
    const wrote = await answer(ref, after, {
      ...revert,
      configError: configError(problems, deps.now),
    });
    if (!wrote) return "superseded";
    await noticeAdmins(
      deps,
      { kind: "machine", id: machineId, roomId: roomOf(after.data), problems },
      after.updateTime,
    );
    logger.warn("console edit of a machine refused", {
      machineId,
      fields: problems.map((p) => p.field),
      reverted,
    });
    return reverted ? "reverted" : "flagged";
  }
  const valid = config!;
  // Consequences follow the configuration the machine has now: an event whose configuration was
  // edited again since (delivered late, or out of order) leaves it to the newer edit's event.
  const current = (await ref.get()).data();
  if (!current || changedFields(MACHINE_CONFIG_FIELDS, current, after.data).length > 0) {
    return "superseded";
  }
  if (after.data.configError !== undefined) {
    if (!(await answer(ref, after, { configError: FieldValue.delete() }))) return "superseded";
  }
  if (!provisioned) {
    await provisionMachine(deps, machineId, after.data, valid.type, valid.name, valid.roomId);
    return "provisioned";
  }
  await applyMachineConfig(deps, machineId, before?.data ?? null, valid);
  return "applied";
}

function roomOf(d: Data): string | null {
  return typeof d.roomId === "string" ? d.roomId : null;
}

/** What a valid configuration implies, brought about (idempotent). */
async function applyMachineConfig(
  deps: ConsoleDeps,
  machineId: string,
  before: Data | null,
  config: { roomId: string; outOfOrder: boolean },
): Promise<void> {
  const { db, now } = deps;
  const oldRoom = before ? roomOf(before) : null;
  if (oldRoom && oldRoom !== config.roomId) {
    // Moved: its offer and its timer leave the old room (the tick shows it in the new one).
    await withdrawMachineOffer(db, machineId, oldRoom, now);
    await db
      .collection(COL.rooms)
      .doc(oldRoom)
      .update({ [`timers.${machineId}`]: FieldValue.delete() })
      .catch((err: unknown) => {
        if ((err as { code?: number }).code !== 5) throw err; // the old room is gone
      });
  }
  const machine = deps.db.collection(COL.machines).doc(machineId);
  if (config.outOfOrder) {
    // As a broken report that reached the threshold: since/reason, and the offer taken back.
    const snap = await machine.get();
    if (snap.get("outOfOrderSince") == null) {
      await machine.update({
        outOfOrderSince: Timestamp.fromMillis(now),
        outOfOrderReason: "set by an admin",
      });
    }
    await withdrawMachineOffer(db, machineId, config.roomId, now);
    return;
  }
  const wasOutOfOrder = before?.outOfOrder === true;
  if (wasOutOfOrder) {
    // As the admin API's clear_broken: the outage ends and the machine, if idle, is offered.
    await clearBroken(
      db,
      { machineId, adminUid: "console", now },
      {
        windowMinutes: deps.claimWindowMinutes,
        transport: deps.transport,
        appUrl: deps.appUrl,
      },
    );
    return;
  }
  // Moved: idle, it is offered to its new room's queue (no second offer is ever made). Other
  // edits (name, type, calibration; a machine added) change nothing in the queue, as in the API.
  if (oldRoom && oldRoom !== config.roomId) {
    await onMachineFreed(db, machineId, config.roomId, now, deps.claimWindowMinutes, {
      transport: deps.transport,
      appUrl: deps.appUrl,
    });
  }
}

/** A machine document made in the console: defaults filled in, its secret made and shown. */
async function provisionMachine(
  deps: ConsoleDeps,
  machineId: string,
  data: Data,
  type: "washer" | "dryer",
  name: string,
  roomId: string,
): Promise<void> {
  const { db } = deps;
  const provisioningRef = db.collection(PROVISIONING).doc(machineId);
  const chosenValue: unknown = (await provisioningRef.get()).get("chosen_secret");
  const chosen =
    typeof chosenValue === "string" && chosenValue.length > 0 ? chosenValue : undefined;
  const warnings = await secretWarnings(db, chosen, deps.masterKey, machineId);
  const secret = chosen ?? generateDeviceSecret();
  const defaults = Object.fromEntries(
    Object.entries(machineDefaults()).filter(([k]) => !(k in data)),
  );
  const batch = db.batch();
  batch.create(
    db.collection(COL.deviceSecrets).doc(machineId),
    secretRecord(secret, deps.masterKey, machineId),
  );
  if (Object.keys(defaults).length > 0)
    batch.update(db.collection(COL.machines).doc(machineId), defaults);
  batch.set(
    provisioningRef,
    shownSecret(deps, { machineId, type, name, roomId }, secret, warnings),
  );
  try {
    await batch.commit();
  } catch (err) {
    if (isAlreadyExists(err)) return; // a redelivery: the first run provisioned it
    throw err;
  }
  logger.info("machine provisioned from the console", {
    machineId,
    roomId,
    chosenSecret: chosen !== undefined,
    warnings: warnings.length,
  });
}

function shownSecret(
  deps: ConsoleDeps,
  m: { machineId: string; type: "washer" | "dryer"; name: string; roomId: string | null },
  secret: string,
  warnings: string[],
) {
  return {
    secret_key: secret,
    firmware_snippet: machineSnippet(deps.deviceUrl, m, secret),
    warnings,
    createdAt: Timestamp.fromMillis(deps.now),
    expireAt: Timestamp.fromMillis(deps.now + PROVISIONING_TTL_MS),
  };
}

/**
 * provisioning/{machineId} written: `rotate: true` or a `chosen_secret` on a provisioned machine
 * rotates its secret (as the API's rotate_device_secret) and shows the new one there. The
 * trigger's own write carries neither, so it does nothing.
 */
export async function onProvisioningWritten(
  deps: ConsoleDeps,
  machineId: string,
  after: DocumentVersion | null,
): Promise<"unchanged" | "rotated" | "waiting" | "superseded"> {
  const chosen = after?.data.chosen_secret;
  if (!after || (after.data.rotate !== true && typeof chosen !== "string")) return "unchanged";
  const { db } = deps;
  const [machine, secretDoc] = await db.getAll(
    db.collection(COL.machines).doc(machineId),
    db.collection(COL.deviceSecrets).doc(machineId),
  );
  // A secret chosen before the machine exists waits for the machine's creation.
  if (!machine.exists || !secretDoc.exists) return "waiting";
  const chosenSecret = typeof chosen === "string" && chosen.length > 0 ? chosen : undefined;
  const warnings = await secretWarnings(db, chosenSecret, deps.masterKey, machineId);
  const ref = db.collection(PROVISIONING).doc(machineId);
  // The request is consumed first: a redelivery finds nothing to do.
  const consumed = await answer(ref, after, {
    rotate: FieldValue.delete(),
    chosen_secret: FieldValue.delete(),
  });
  if (!consumed) return "superseded";
  const { secret } = await rotateDeviceSecret(db, machineId, deps.masterKey, chosenSecret);
  const type = machine.get("type") === "dryer" ? "dryer" : "washer";
  const name: unknown = machine.get("name");
  await ref.set(
    shownSecret(
      deps,
      {
        machineId,
        type,
        name: typeof name === "string" ? name : "",
        roomId: roomOf(machine.data() ?? {}),
      },
      secret,
      warnings,
    ),
  );
  logger.info("device secret rotated from the console", { machineId, warnings: warnings.length });
  return "rotated";
}

/** What a deleted machine leaves behind, removed; its cycles and statistics stay. */
export async function cleanUpMachine(
  deps: ConsoleDeps,
  machineId: string,
  roomId: string | null,
): Promise<void> {
  const { db, now } = deps;
  if (roomId) {
    await withdrawMachineOffer(db, machineId, roomId, now);
    await db
      .collection(COL.rooms)
      .doc(roomId)
      .update({ [`timers.${machineId}`]: FieldValue.delete() })
      .catch((err: unknown) => {
        if ((err as { code?: number }).code !== 5) throw err;
      });
  }
  const machine = db.collection(COL.machines).doc(machineId);
  for (const sub of MACHINE_SUBCOLLECTIONS) await db.recursiveDelete(machine.collection(sub));
  const owed = await db.collection(COL.machineEffects).where("machineId", "==", machineId).get();
  const batch = db.batch();
  for (const d of owed.docs) batch.delete(d.ref);
  for (const col of [COL.deviceSecrets, COL.courseChoices, COL.machineCalibration, PROVISIONING]) {
    batch.delete(db.collection(col).doc(machineId));
  }
  await batch.commit();
  logger.info("deleted machine cleaned up", { machineId, roomId, owedEffects: owed.size });
}

// --------------------------------------------------------------------------------- rooms

/** rooms/{id} written: a new room gets its defaults; a bad name is reverted; a deleted room is cleaned up. */
export async function onRoomWritten(
  deps: ConsoleDeps,
  roomId: string,
  before: DocumentVersion | null,
  after: DocumentVersion | null,
): Promise<ConsoleOutcome> {
  const { db } = deps;
  const ref = db.collection(COL.rooms).doc(roomId);
  if (!after) {
    if (!before) return "unchanged";
    if ((await ref.get()).exists) return "superseded"; // re-created since
    await cleanUpRoom(deps, roomId);
    return "deleted";
  }
  const changed = changedFields(ROOM_CONFIG_FIELDS, before?.data ?? null, after.data);
  const missingDefaults = !("timers" in after.data);
  if (changed.length === 0 && !missingDefaults) return "unchanged";
  const problems = checkRoomConfig(after.data);
  if (problems.length > 0) {
    const revert = revertOf(before?.data ?? null, problems, (d) => checkRoomConfig(d).length === 0);
    const wrote = await answer(ref, after, {
      ...revert,
      configError: configError(problems, deps.now),
    });
    if (!wrote) return "superseded";
    await noticeAdmins(deps, { kind: "room", id: roomId, roomId, problems }, after.updateTime);
    return Object.keys(revert).length > 0 ? "reverted" : "flagged";
  }
  const update: Data = {};
  if (missingDefaults) Object.assign(update, roomDefaults());
  if (after.data.configError !== undefined) update.configError = FieldValue.delete();
  if (Object.keys(update).length > 0 && !(await answer(ref, after, update))) return "superseded";
  return "applied";
}

/** A deleted room's queue and subscriptions removed; its machines flagged (they need a room). */
export async function cleanUpRoom(deps: ConsoleDeps, roomId: string): Promise<void> {
  const { db } = deps;
  await db.recursiveDelete(db.collection(COL.rooms).doc(roomId).collection("subscribers"));
  await db.collection(QUEUES).doc(roomId).delete();
  const machines = await db.collection(COL.machines).where("roomId", "==", roomId).get();
  const problems = [{ field: "roomId", reason: `room ${roomId} was deleted` }];
  for (const m of machines.docs) {
    await m.ref.update({ configError: configError(problems, deps.now) });
  }
  if (machines.size > 0) {
    await noticeAdmins(deps, { kind: "room", id: roomId, roomId, problems }, deps.now);
  }
  logger.info("deleted room cleaned up", { roomId, machinesLeft: machines.size });
}
