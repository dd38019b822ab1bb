/**
 * Edits made in the Firebase console get the admin API's consequences, through the same use cases
 * (docs/DECISIONS.md "The Firebase console as the admin UI"; the how-to is docs/ADMIN.md). An
 * invalid edit is reverted to the version before it (a new document is flagged) with
 * `configError` and a notice to every admin; a new machine is provisioned; a deleted machine or
 * room is cleaned up. Consequences are state-based, so a redelivered or late event changes nothing
 * more, and the triggers' own writes (not configuration, or a value already applied) do nothing.
 */
import * as logger from "firebase-functions/logger";
import { type DocumentReference, FieldValue, Timestamp } from "firebase-admin/firestore";
import {
  CONFIG_SCHEMAS,
  DECIMAL_ID,
  MACHINE_CONFIG_FIELDS,
  type MachineConfig,
  ROOM_CONFIG_FIELDS,
  changedFields,
  checkConfig,
} from "../domain/consoleConfig";
import { configErrorMessage } from "../domain/messages";
import { isAlreadyExists, isNotFound } from "../data/db";
import { refs } from "../data/refs";
import type { Invocation } from "../invocation";
import { ChosenSecretSchema } from "../security/deviceSecret";
import { adminUids } from "./admins";
import { clearBroken } from "./broken";
import {
  type MachineDescription,
  deviceUrl,
  machineDefaults,
  newSecret,
  roomDefaults,
  secretRecord,
} from "./machines";
import { sendNotices } from "./notices";
import { onMachineFreed, withdrawMachineOffer } from "./queue";

/** The invocation, and the DEVICE_MASTER_KEY secret's value that new device secrets need. */
export type ConsoleDeps = Invocation & { masterKey: string };

type Data = Record<string, unknown>;

export interface DocumentVersion {
  data: Data;
  /** The version's update time (ms), a precondition for writes that answer it. */
  updateTime: number;
}

type ConsoleOutcome =
  "unchanged" | "applied" | "provisioned" | "reverted" | "flagged" | "superseded" | "deleted";

// ------------------------------------------------------------- machines and rooms alike

/** A refused edit: what the admins' notice says, and the room it concerns. */
type Refusal = Parameters<typeof configErrorMessage>[0] & { roomId: string | null };

/**
 * An invalid edit, refused: the admins are told first (the notice id is the same on a retry
 * after a crash), then the whole edit is reverted to the valid version before it (its valid half
 * was never applied), or, with none, the document is flagged. Nothing is written once the edit
 * no longer stands (a board's liveness write in between does not count).
 */
async function refuse(
  deps: ConsoleDeps,
  what: Refusal,
  ref: DocumentReference,
  before: DocumentVersion | null,
  after: DocumentVersion,
): Promise<"reverted" | "flagged" | "superseded"> {
  const schema = CONFIG_SCHEMAS[what.kind];
  const fields = schema.keyof().options;
  const revert: Data = {};
  if (before && schema.safeParse(before.data).success) {
    for (const f of changedFields(fields, before.data, after.data)) {
      revert[f] = before.data[f] ?? FieldValue.delete();
    }
  }
  await noticeAdmins(deps, what, after.updateTime);
  const configError = { problems: what.problems, at: Timestamp.fromMillis(deps.now()) };
  const update = { ...revert, configError };
  if (!(await answerIfStill(ref, fields, after.data, update))) return "superseded";
  const reverted = Object.keys(revert).length > 0;
  logger.warn(`console edit of a ${what.kind} refused`, {
    [`${what.kind}Id`]: what.id,
    fields: what.problems.map((p) => p.field),
    reverted,
  });
  return reverted ? "reverted" : "flagged";
}

/** Tells every admin, once per edit (the notice id carries the edit's update time). */
async function noticeAdmins(deps: ConsoleDeps, what: Refusal, editTime: number): Promise<void> {
  await sendNotices(
    deps.db,
    (await adminUids(deps.db)).map((uid) => ({
      uid,
      id: `config-${what.kind}-${what.id}-${editTime}`,
      type: "config_error",
      machineId: what.kind === "machine" ? what.id : "",
      roomId: what.roomId,
      text: (locale) => configErrorMessage(what, locale),
      ttlSeconds: 24 * 3600,
    })),
    deps.now(),
  );
}

/** Writes `update` if the document's configuration is still `config` (a transaction). */
async function answerIfStill(
  ref: DocumentReference,
  fields: readonly string[],
  config: Data,
  update: Data,
): Promise<boolean> {
  return ref.firestore.runTransaction(async (tx) => {
    const snap = await tx.get(ref);
    if (!snap.exists || changedFields(fields, snap.data() ?? {}, config).length > 0) return false;
    tx.update(ref, update);
    return true;
  });
}

/** Whether a valid edit clears an earlier refusal, unless this write is that refusal itself. */
function clearsRefusal(data: Data, before: DocumentVersion | null, after: DocumentVersion) {
  const ownAnswer =
    before !== null && changedFields(["configError"], before.data, after.data).length > 0;
  return data.configError !== undefined && !ownAnswer;
}

// ------------------------------------------------------------------------------ machines

/** The document's room id, when it is one (anything else names no room). */
function roomOf(d: Data): string | null {
  return typeof d.roomId === "string" && DECIMAL_ID.test(d.roomId) ? d.roomId : null;
}

/** machines/{id} written in the console (or by anything else: only configuration matters). */
export async function applyMachineEdit(
  deps: ConsoleDeps,
  machineId: string,
  before: DocumentVersion | null,
  after: DocumentVersion | null,
): Promise<ConsoleOutcome> {
  const { db } = deps;
  const r = refs(db);
  const ref = r.machine(machineId).withConverter(null);
  if (!after) return before ? cleanUpMachine(deps, machineId, roomOf(before.data)) : "unchanged";
  // Most machine writes are the report trigger's state: no configuration changed, no read.
  if (before && changedFields(MACHINE_CONFIG_FIELDS, before.data, after.data).length === 0) {
    return "unchanged";
  }
  // Decided on the document as it is now: edited again since, the newer edit's event acts.
  const data = (await ref.get()).data();
  if (!data || changedFields(MACHINE_CONFIG_FIELDS, data, after.data).length > 0) {
    return "superseded";
  }
  const { config, problems } = checkConfig(CONFIG_SCHEMAS.machine, data);
  if (!DECIMAL_ID.test(machineId)) {
    problems.push({ field: "id", reason: "must be a positive integer (the board's MACHINE_ID)" });
  }
  if (config && !(await r.room(config.roomId).get()).exists) {
    problems.push({ field: "roomId", reason: `no room ${config.roomId}` });
  }
  if (!config || problems.length > 0) {
    const what = { kind: "machine" as const, id: machineId, roomId: roomOf(data), problems };
    return refuse(deps, what, ref, before, after);
  }
  if (clearsRefusal(data, before, after)) {
    await answerIfStill(ref, MACHINE_CONFIG_FIELDS, data, { configError: FieldValue.delete() });
  }
  const [secretDoc, appliedDoc] = await db.getAll(
    r.deviceSecret(machineId),
    r.machineConfig(machineId),
  );
  if (!secretDoc.exists) {
    await provisionMachine(deps, machineId, data, config);
    return "provisioned";
  }
  // From the room and out-of-order flag whose consequences were last brought about (server-only
  // machineConfigs/{machineId}, or for a machine made before it existed the event's valid
  // `before`) to what the configuration says now.
  const stored = appliedDoc.data();
  const applied =
    typeof stored?.roomId === "string"
      ? { roomId: stored.roomId, outOfOrder: stored.outOfOrder === true }
      : ((before ? checkConfig(CONFIG_SCHEMAS.machine, before.data).config : null) ?? config);
  const windowMinutes = deps.settings.claimWindowMinutes;
  const moved = applied.roomId !== config.roomId;
  // Its offer and its timer leave the old room (the tick shows it in the new one).
  if (moved) await leaveRoom(deps, machineId, applied.roomId);
  if (config.outOfOrder) {
    // As a broken report that reached the threshold: since/reason, and the offer taken back.
    if (data.outOfOrderSince == null) {
      await r.machine(machineId).update({
        outOfOrderSince: Timestamp.fromMillis(deps.now()),
        outOfOrderReason: "set by an admin",
      });
    }
    await withdrawMachineOffer(db, machineId, config.roomId, deps.now());
  } else if (applied.outOfOrder) {
    // As the admin API's clear_broken: the outage ends and the machine, if idle, is offered.
    await clearBroken(deps, { machineId, adminUid: "console" });
  } else if (moved) {
    // Idle, it is offered to its new room's queue. Other edits change nothing in the queue.
    await onMachineFreed(db, machineId, config.roomId, deps.now(), windowMinutes);
  }
  await r.machineConfig(machineId).set({ roomId: config.roomId, outOfOrder: config.outOfOrder });
  return "applied";
}

/** The machine's queue offer and its timer taken out of a room it left (or that is gone). */
async function leaveRoom(deps: ConsoleDeps, machineId: string, roomId: string): Promise<void> {
  await withdrawMachineOffer(deps.db, machineId, roomId, deps.now());
  await refs(deps.db)
    .room(roomId)
    .update({ [`timers.${machineId}`]: FieldValue.delete() })
    .catch((err: unknown) => {
      if (!isNotFound(err)) throw err; // the room is gone
    });
}

/** A machine document made in the console: defaults filled in, its secret made and shown. */
async function provisionMachine(
  deps: ConsoleDeps,
  machineId: string,
  data: Data,
  config: MachineConfig,
): Promise<void> {
  const { db } = deps;
  const r = refs(db);
  const chosen: unknown = (await r.provisioning(machineId).get()).get("chosen_secret");
  const shown = await shownSecret(deps, { machineId, ...config }, chosen);
  const defaults = Object.fromEntries(
    Object.entries(machineDefaults()).filter(([k]) => !(k in data)),
  );
  const batch = db.batch();
  batch.create(
    r.deviceSecret(machineId),
    secretRecord(shown.secret_key, deps.masterKey, machineId),
  );
  if (Object.keys(defaults).length > 0) batch.update(r.machine(machineId), defaults);
  batch.set(r.machineConfig(machineId), { roomId: config.roomId, outOfOrder: config.outOfOrder });
  batch.set(r.provisioning(machineId), shown);
  try {
    await batch.commit();
  } catch (err) {
    if (isAlreadyExists(err)) return; // a redelivery: the first run provisioned it
    throw err;
  }
  logger.info("machine provisioned from the console", {
    machineId,
    roomId: config.roomId,
    chosenSecret: shown.secret_key === chosen,
    warnings: shown.warnings.length,
  });
}

/**
 * provisioning/{machineId} showing a new secret: an admin's own from `chosen_secret` (the API's
 * rule), or a generated one and why the chosen one cannot be used.
 */
async function shownSecret(deps: ConsoleDeps, m: MachineDescription, chosen: unknown) {
  const parsed = ChosenSecretSchema.safeParse(chosen);
  const shown = await newSecret(deps.db, deps.masterKey, deviceUrl(), m, parsed.data);
  if (chosen !== undefined && !parsed.success) {
    const problem =
      typeof chosen === "string" && chosen !== ""
        ? parsed.error.issues[0]?.message
        : "must be non-empty text";
    shown.warnings.push(`chosen_secret: ignored, a secret was generated: ${problem}`);
  }
  const now = deps.now();
  return {
    ...shown,
    createdAt: Timestamp.fromMillis(now),
    expireAt: Timestamp.fromMillis(now + 24 * 3600_000), // shown for a day
  };
}

/**
 * provisioning/{machineId} written: `rotate: true` or a `chosen_secret` on a provisioned machine
 * rotates its secret (as the API's rotate_device_secret) and shows the new one there. The
 * trigger's own write carries neither, so it does nothing.
 */
export async function applyProvisioningEdit(
  deps: ConsoleDeps,
  machineId: string,
  _before: DocumentVersion | null,
  after: DocumentVersion | null,
): Promise<"unchanged" | "rotated" | "waiting" | "superseded"> {
  const chosen = after?.data.chosen_secret;
  if (!after || (after.data.rotate !== true && typeof chosen !== "string")) return "unchanged";
  const { db } = deps;
  const r = refs(db);
  const [machine, secretDoc] = await Promise.all([
    r.machine(machineId).get(),
    r.deviceSecret(machineId).get(),
  ]);
  const m = machine.data();
  // A secret chosen before the machine exists waits for the machine's creation.
  if (!m || !secretDoc.exists) return "waiting";
  const shown = await shownSecret(deps, m, typeof chosen === "string" ? chosen : undefined);
  // One batch: the new secret, the request consumed and the secret shown, or none of them (a
  // newer write to the request wins; its own event rotates).
  const batch = db.batch();
  batch.set(r.deviceSecret(machineId), secretRecord(shown.secret_key, deps.masterKey, machineId));
  batch.update(
    r.provisioning(machineId),
    { ...shown, rotate: FieldValue.delete(), chosen_secret: FieldValue.delete() },
    { lastUpdateTime: Timestamp.fromMillis(after.updateTime) },
  );
  try {
    await batch.commit();
  } catch (err) {
    const code = (err as { code?: number }).code;
    if (code === 9 || isNotFound(err)) return "superseded"; // 9: FAILED_PRECONDITION
    throw err;
  }
  logger.info("device secret rotated from the console", {
    machineId,
    warnings: shown.warnings.length,
  });
  return "rotated";
}

/**
 * What a deleted machine leaves behind, removed (its cycles and statistics stay), unless it was
 * re-created since (a late delete event).
 */
async function cleanUpMachine(deps: ConsoleDeps, machineId: string, roomId: string | null) {
  const { db } = deps;
  const r = refs(db);
  if ((await r.machine(machineId).get()).exists) return "superseded";
  if (roomId) await leaveRoom(deps, machineId, roomId);
  // The console's "delete document" leaves subcollections behind.
  for (const sub of [r.watchers, r.reports, r.rawData, r.brokenReports, r.brokenArchive]) {
    await db.recursiveDelete(sub(machineId));
  }
  const batch = db.batch();
  for (const doc of [r.deviceSecret, r.courseChoice, r.machineConfig, r.provisioning]) {
    batch.delete(doc(machineId));
  }
  await batch.commit();
  logger.info("deleted machine cleaned up", { machineId, roomId });
  return "deleted";
}

// --------------------------------------------------------------------------------- rooms

/** rooms/{id} written: defaults for a new room, a bad name reverted, a deleted room cleaned up. */
export async function applyRoomEdit(
  deps: ConsoleDeps,
  roomId: string,
  before: DocumentVersion | null,
  after: DocumentVersion | null,
): Promise<ConsoleOutcome> {
  const ref = refs(deps.db).room(roomId).withConverter(null);
  if (!after) return before ? cleanUpRoom(deps, roomId, before.updateTime) : "unchanged";
  const missingDefaults = !("timers" in after.data);
  // A new document is always checked (a room without a name is one too).
  const changed = changedFields(ROOM_CONFIG_FIELDS, before?.data ?? null, after.data);
  if (before && changed.length === 0 && !missingDefaults) return "unchanged";
  const { problems } = checkConfig(CONFIG_SCHEMAS.room, after.data);
  if (problems.length > 0) {
    return refuse(deps, { kind: "room", id: roomId, roomId, problems }, ref, before, after);
  }
  const update: Data = missingDefaults ? roomDefaults() : {};
  if (clearsRefusal(after.data, before, after)) update.configError = FieldValue.delete();
  if (Object.keys(update).length === 0) return "applied";
  const answered = await answerIfStill(ref, ROOM_CONFIG_FIELDS, after.data, update);
  return answered ? "applied" : "superseded";
}

/**
 * A deleted room's queue and subscriptions removed; its machines flagged (they need a room). The
 * admins' notice id carries the deleted version's update time, the same on every delivery.
 * Nothing is done to a room re-created since (a late delete event).
 */
async function cleanUpRoom(deps: ConsoleDeps, roomId: string, deletedVersion: number) {
  const r = refs(deps.db);
  if ((await r.room(roomId).get()).exists) return "superseded";
  await deps.db.recursiveDelete(r.subscribers(roomId));
  await r.queue(roomId).delete();
  const machines = await r.machines.where("roomId", "==", roomId).get();
  const problems = [{ field: "roomId", reason: `room ${roomId} was deleted` }];
  for (const m of machines.docs) {
    await m.ref.update({ configError: { problems, at: Timestamp.fromMillis(deps.now()) } });
  }
  if (machines.size > 0) {
    await noticeAdmins(deps, { kind: "room", id: roomId, roomId, problems }, deletedVersion);
  }
  logger.info("deleted room cleaned up", { roomId, machinesLeft: machines.size });
  return "deleted";
}
