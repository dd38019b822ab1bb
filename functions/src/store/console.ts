/**
 * Edits made in the Firebase console, with the same consequences as the admin API: the console
 * triggers (triggers/on*Written.ts) call these, and these call the use cases the API calls
 * (createMachine's defaults and secret record, secretWarnings, clearBroken, the queue).
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
  DECIMAL_ID,
  MACHINE_CONFIG_FIELDS,
  ROOM_CONFIG_FIELDS,
  changedFields,
  checkMachineConfig,
  checkRoomConfig,
} from "../domain/consoleConfig";
import { configErrorMessage } from "../domain/messages";
import { machineSnippet } from "../domain/firmwareSnippet";
import { adminUids } from "./admins";
import { clearBroken } from "./broken";
import { isAlreadyExists } from "../data/db";
import { sendNotices } from "./notices";
import { machineDefaults, roomDefaults, secretRecord, secretWarnings } from "./machines";
import { onMachineFreed, withdrawMachineOffer } from "./queue";
import {
  CHOSEN_SECRET_CHARS,
  CHOSEN_SECRET_CHARS_REASON,
  CHOSEN_SECRET_MAX_LENGTH,
  generateDeviceSecret,
} from "../security/deviceSecret";
import { refs } from "../data/refs";

/** provisioning/{machineId}: a new or rotated device secret, for console users, for a day. */
export const PROVISIONING_TTL_MS = 24 * 3600_000;
const CONFIG_NOTICE_TTL_SECONDS = 24 * 3600;
/** Subcollections of a machine that go with it (cycles and statistics are elsewhere and stay). */

export interface ConsoleDeps {
  db: Firestore;
  now: number;
  masterKey: string;
  /** The device function's base URL, for firmware snippets. */
  deviceUrl: string;
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
  await sendNotices(
    deps.db,
    uids.map((uid) => ({
      uid,
      id: `config-${what.kind}-${what.id}-${editTime}`,
      type: "config_error",
      machineId: what.kind === "machine" ? what.id : "",
      roomId: what.roomId,
      text: (locale) => configErrorMessage(what, locale),
      ttlSeconds: CONFIG_NOTICE_TTL_SECONDS,
    })),
    deps.now,
  );
}

function configError(problems: ConfigProblem[], now: number) {
  return { problems, at: Timestamp.fromMillis(now) };
}

/** `fields` back to their values before the edit, when those were valid; else nothing (flagged). */
function revertOf(before: Data | null, fields: readonly string[], valid: (d: Data) => boolean) {
  const out: Data = {};
  if (!before || !valid(before)) return out;
  for (const f of fields) out[f] = before[f] ?? FieldValue.delete();
  return out;
}

// ------------------------------------------------------------------------------ machines

/**
 * machineConfigs/{machineId} (server-only): the room and out-of-order flag whose consequences
 * were last brought about. Consequences go from it to what the machine document says now, so a
 * late, repeated or reordered event, or one edit split into several events, moves the world
 * exactly once. createMachine and provisioning write it; a machine without one (made before it
 * existed) starts from the event's valid `before`.
 */

interface Applied {
  roomId: string;
  outOfOrder: boolean;
}

/** Writes `update` if the document's configuration is still `config` (a transaction). */
async function answerIfStill(
  deps: ConsoleDeps,
  ref: FirebaseFirestore.DocumentReference,
  fields: readonly string[],
  config: Data,
  update: Data,
): Promise<boolean> {
  return deps.db.runTransaction(async (tx) => {
    const snap = await tx.get(ref);
    if (!snap.exists || changedFields(fields, snap.data() ?? {}, config).length > 0) return false;
    tx.update(ref, update);
    return true;
  });
}

/** machines/{id} written in the console (or by anything else: only configuration matters). */
export async function onMachineWritten(
  deps: ConsoleDeps,
  machineId: string,
  before: DocumentVersion | null,
  after: DocumentVersion | null,
): Promise<ConsoleOutcome> {
  const { db } = deps;
  const ref = refs(db).machine(machineId).withConverter(null);
  if (!after) {
    if (!before) return "unchanged";
    // Re-created since (a late delivery of the delete): the new machine is not cleaned away.
    if ((await ref.get()).exists) return "superseded";
    await cleanUpMachine(deps, machineId, roomOf(before.data));
    return "deleted";
  }
  // Most machine writes are the report trigger's state: no configuration changed, no read.
  const changed = changedFields(MACHINE_CONFIG_FIELDS, before?.data ?? null, after.data);
  if (before && changed.length === 0) return "unchanged";

  // Decided on the document as it is now; this event answers only for its own edit.
  const now = await ref.get();
  const data = now.data();
  if (!data) return "superseded";
  const { config, problems } = checkMachineConfig(data);
  if (!DECIMAL_ID.test(machineId)) {
    problems.push({ field: "id", reason: "must be a positive integer (the board's MACHINE_ID)" });
  }
  if (config && !(await refs(db).room(config.roomId).get()).exists) {
    problems.push({ field: "roomId", reason: `no room ${config.roomId}` });
  }
  if (problems.length > 0) {
    if (changedFields(MACHINE_CONFIG_FIELDS, data, after.data).length > 0) return "superseded";
    // The whole edit goes back, not only its invalid fields (its valid half was never applied).
    const revert = revertOf(
      before?.data ?? null,
      changed,
      (d) => checkMachineConfig(d).config !== null,
    );
    const reverted = Object.keys(revert).length > 0;
    // Admins first: a crash after the revert must not lose the notice (same id on retry).
    await noticeAdmins(
      deps,
      { kind: "machine", id: machineId, roomId: roomOf(after.data), problems },
      after.updateTime,
    );
    const wrote = await answerIfStill(deps, ref, MACHINE_CONFIG_FIELDS, after.data, {
      ...revert,
      configError: configError(problems, deps.now),
    });
    if (!wrote) return "superseded";
    logger.warn("console edit of a machine refused", {
      machineId,
      fields: problems.map((p) => p.field),
      reverted,
    });
    return reverted ? "reverted" : "flagged";
  }
  const valid = config!;
  // Edited again since this event (a late or repeated delivery): the newer edit's event acts.
  if (changedFields(MACHINE_CONFIG_FIELDS, data, after.data).length > 0) return "superseded";
  // A valid edit clears an earlier refusal; the refusal's own write (it sets configError, and
  // this event is it) does not.
  if (data.configError !== undefined && !ownAnswer(before, after)) {
    await answerIfStill(deps, ref, MACHINE_CONFIG_FIELDS, data, {
      configError: FieldValue.delete(),
    });
  }
  const appliedRef = refs(db).machineConfig(machineId);
  const [secretDoc, appliedDoc] = await db.getAll(refs(db).deviceSecret(machineId), appliedRef);
  if (!secretDoc.exists) {
    await provisionMachine(deps, machineId, data, valid.type, valid.name, valid.roomId);
    return "provisioned";
  }
  const stored = appliedDoc.data();
  const fromBefore = before ? checkMachineConfig(before.data).config : null;
  const applied: Applied =
    typeof stored?.roomId === "string"
      ? { roomId: stored.roomId, outOfOrder: stored.outOfOrder === true }
      : (fromBefore ?? valid);
  await applyMachineConfig(deps, machineId, applied, valid);
  await appliedRef.set({ roomId: valid.roomId, outOfOrder: valid.outOfOrder });
  return "applied";
}

/** Whether this write is a trigger's answer (it set or changed `configError`). */
function ownAnswer(before: DocumentVersion | null, after: DocumentVersion): boolean {
  return before !== null && changedFields(["configError"], before.data, after.data).length > 0;
}

/** The document's room id, when it is one (anything else names no room). */
function roomOf(d: Data): string | null {
  return typeof d.roomId === "string" && DECIMAL_ID.test(d.roomId) ? d.roomId : null;
}

/** From the consequences last brought about to what the configuration says now (idempotent). */
async function applyMachineConfig(
  deps: ConsoleDeps,
  machineId: string,
  applied: Applied,
  config: Applied,
): Promise<void> {
  const { db, now } = deps;
  const moved = applied.roomId !== config.roomId;
  if (moved) {
    // Its offer and its timer leave the old room (the tick shows it in the new one).
    await withdrawMachineOffer(db, machineId, applied.roomId, now);
    await refs(db)
      .room(applied.roomId)
      .update({ [`timers.${machineId}`]: FieldValue.delete() })
      .catch((err: unknown) => {
        if ((err as { code?: number }).code !== 5) throw err; // the old room is gone
      });
  }
  const machine = refs(deps.db).machine(machineId).withConverter(null);
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
  if (applied.outOfOrder) {
    // As the admin API's clear_broken: the outage ends and the machine, if idle, is offered.
    await clearBroken(db, {
      machineId,
      adminUid: "console",
      now,
      windowMinutes: deps.claimWindowMinutes,
    });
    return;
  }
  // Moved: idle, it is offered to its new room's queue (no second offer is ever made). Other
  // edits (name, type, calibration; a machine added) change nothing in the queue, as in the API.
  if (moved) {
    await onMachineFreed(db, machineId, config.roomId, now, deps.claimWindowMinutes);
  }
}

/** Why an admin's own secret cannot be used (as the API's secret_key rule), or null. */
function chosenSecretProblem(v: unknown): string | null {
  if (typeof v !== "string" || v.length === 0) return "must be non-empty text";
  if (v.length > CHOSEN_SECRET_MAX_LENGTH) {
    return `must be at most ${CHOSEN_SECRET_MAX_LENGTH} characters`;
  }
  if (!CHOSEN_SECRET_CHARS.test(v)) return CHOSEN_SECRET_CHARS_REASON;
  return null;
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
  const provisioningRef = refs(db).provisioning(machineId);
  const chosenValue: unknown = (await provisioningRef.get()).get("chosen_secret");
  const chosenProblem = chosenSecretProblem(chosenValue);
  const chosen = chosenProblem === null ? (chosenValue as string) : undefined;
  const warnings = await secretWarnings(db, chosen, deps.masterKey, machineId);
  if (chosenValue !== undefined && chosenProblem) {
    warnings.push(`chosen_secret: ignored, a secret was generated: ${chosenProblem}`);
  }
  const secret = chosen ?? generateDeviceSecret();
  const defaults = Object.fromEntries(
    Object.entries(machineDefaults()).filter(([k]) => !(k in data)),
  );
  const batch = db.batch();
  batch.create(refs(db).deviceSecret(machineId), secretRecord(secret, deps.masterKey, machineId));
  if (Object.keys(defaults).length > 0) batch.update(refs(db).machine(machineId), defaults);
  batch.set(refs(db).machineConfig(machineId), {
    roomId,
    outOfOrder: data.outOfOrder === true,
  });
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
    refs(db).machine(machineId).withConverter(null),
    refs(db).deviceSecret(machineId),
  );
  // A secret chosen before the machine exists waits for the machine's creation.
  if (!machine.exists || !secretDoc.exists) return "waiting";
  const problem = typeof chosen === "string" ? chosenSecretProblem(chosen) : null;
  const chosenSecret = typeof chosen === "string" && problem === null ? chosen : undefined;
  const warnings = await secretWarnings(db, chosenSecret, deps.masterKey, machineId);
  if (problem) warnings.push(`chosen_secret: ignored, a secret was generated: ${problem}`);
  const secret = chosenSecret ?? generateDeviceSecret();
  const type = machine.get("type") === "dryer" ? "dryer" : "washer";
  const name: unknown = machine.get("name");
  const shown = shownSecret(
    deps,
    {
      machineId,
      type,
      name: typeof name === "string" ? name : "",
      roomId: roomOf(machine.data() ?? {}),
    },
    secret,
    warnings,
  );
  // One batch: the new secret, the request consumed and the secret shown, or none of them (a
  // newer write to the request wins; its own event rotates).
  const ref = refs(db).provisioning(machineId);
  const batch = db.batch();
  batch.set(refs(db).deviceSecret(machineId), secretRecord(secret, deps.masterKey, machineId));
  batch.update(
    ref,
    { ...shown, rotate: FieldValue.delete(), chosen_secret: FieldValue.delete() },
    { lastUpdateTime: Timestamp.fromMillis(after.updateTime) },
  );
  try {
    await batch.commit();
  } catch (err) {
    const code = (err as { code?: number }).code;
    if (code === 9 || code === 5) return "superseded";
    throw err;
  }
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
    await refs(db)
      .room(roomId)
      .update({ [`timers.${machineId}`]: FieldValue.delete() })
      .catch((err: unknown) => {
        if ((err as { code?: number }).code !== 5) throw err;
      });
  }
  const r = refs(db);
  for (const sub of [r.watchers, r.reports, r.rawData, r.brokenReports, r.brokenArchive]) {
    await db.recursiveDelete(sub(machineId));
  }
  const batch = db.batch();
  for (const doc of [
    r.deviceSecret,
    r.courseChoice,
    r.machineCalibration,
    r.machineConfig,
    r.provisioning,
  ]) {
    batch.delete(doc(machineId));
  }
  await batch.commit();
  logger.info("deleted machine cleaned up", { machineId, roomId });
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
  const ref = refs(db).room(roomId).withConverter(null);
  if (!after) {
    if (!before) return "unchanged";
    if ((await ref.get()).exists) return "superseded"; // re-created since
    await cleanUpRoom(deps, roomId, before.updateTime);
    return "deleted";
  }
  const changed = changedFields(ROOM_CONFIG_FIELDS, before?.data ?? null, after.data);
  const missingDefaults = !("timers" in after.data);
  // A new document is always checked (a room without a name is one too).
  if (before && changed.length === 0 && !missingDefaults) return "unchanged";
  const problems = checkRoomConfig(after.data);
  if (problems.length > 0) {
    const revert = revertOf(
      before?.data ?? null,
      problems.map((p) => p.field),
      (d) => checkRoomConfig(d).length === 0,
    );
    await noticeAdmins(deps, { kind: "room", id: roomId, roomId, problems }, after.updateTime);
    const wrote = await answerIfStill(deps, ref, ROOM_CONFIG_FIELDS, after.data, {
      ...revert,
      configError: configError(problems, deps.now),
    });
    if (!wrote) return "superseded";
    return Object.keys(revert).length > 0 ? "reverted" : "flagged";
  }
  const update: Data = {};
  if (missingDefaults) Object.assign(update, roomDefaults());
  if (after.data.configError !== undefined && !ownAnswer(before, after)) {
    update.configError = FieldValue.delete();
  }
  if (
    Object.keys(update).length > 0 &&
    !(await answerIfStill(deps, ref, ROOM_CONFIG_FIELDS, after.data, update))
  ) {
    return "superseded";
  }
  return "applied";
}

/** A deleted room's queue and subscriptions removed; its machines flagged (they need a room). */
export async function cleanUpRoom(
  deps: ConsoleDeps,
  roomId: string,
  /** The deleted version's update time: the notice's id, the same on every delivery. */
  deletedVersion: number,
): Promise<void> {
  const { db } = deps;
  await db.recursiveDelete(refs(db).subscribers(roomId));
  await refs(db).queue(roomId).delete();
  const machines = await refs(db).machines.where("roomId", "==", roomId).get();
  const problems = [{ field: "roomId", reason: `room ${roomId} was deleted` }];
  for (const m of machines.docs) {
    await m.ref.update({ configError: configError(problems, deps.now) });
  }
  if (machines.size > 0) {
    await noticeAdmins(deps, { kind: "room", id: roomId, roomId, problems }, deletedVersion);
  }
  logger.info("deleted room cleaned up", { roomId, machinesLeft: machines.size });
}
