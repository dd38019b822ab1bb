/**
 * Device presence: the tick is the only writer of `machines/{id}.online: false` (reports and
 * heartbeats set `online: true` with `lastSeenAt`). Per outage, every admin gets one inbox
 * notification (and push), id `offlineNoticeKey(machineId, lastSeenAt)`.
 *
 * Order makes it once-only without transactions: the notices are created (create-if-absent)
 * BEFORE the machine is flagged offline, so a run that dies in between is completed by the retry
 * (the machine is still online and silent, the notices exist already), and a machine already
 * flagged offline needs nothing. The flag is written with the read's update time as a
 * precondition, so a report that arrived meanwhile wins; `backOnline` repairs the rest.
 *
 * Admins: every `admins/{uid}` document (store/admins.ts keeps them in step with the
 * `admin: true` claim).
 *
 * Reads: running machines come from the tick's one query; idle machines only through two narrow
 * queries (online and silent past the idle limit; offline but heard from within it), usually
 * empty. Needs the composite index machines(online, status, lastSeenAt).
 */
import * as logger from "firebase-functions/logger";
import { Timestamp } from "firebase-admin/firestore";
import { offlineAdminMessage } from "../../domain/messages";
import {
  type PresenceDecision,
  type PresenceLimits,
  offlineNoticeKey,
  presenceDecision,
} from "../../domain/presence";
import { relativeTime } from "../../domain/relativeTime";
import { MINUTE_MS } from "../../domain/time";
import { adminUids } from "../../store/admins";
import type { Machine } from "../../data/model";
import type { TickContext } from "./base";
import { type Notice, sendNotices } from "../../store/notices";
import { refs } from "../../data/refs";

/** How long FCM keeps an offline notice. */
const OFFLINE_NOTICE_TTL_SECONDS = 24 * 3600;
const IDLE = ["FINISHED", "OFF"];

export interface PresenceResult {
  wentOffline: string[];
  backOnline: string[];
  noticesCreated: number;
}

export async function updatePresence(
  deps: TickContext,
  running: readonly Machine[],
  limits: PresenceLimits,
): Promise<PresenceResult> {
  const { db, now, counters } = deps;
  const idleCutoff = Timestamp.fromMillis(now - limits.idleMinutes * MINUTE_MS);
  const machines = refs(db).machines;
  const [silentIdle, offlineIdle] = await Promise.all([
    machines
      .where("online", "==", true)
      .where("status", "in", IDLE)
      .where("lastSeenAt", "<=", idleCutoff)
      .get(),
    machines
      .where("online", "==", false)
      .where("status", "in", IDLE)
      .where("lastSeenAt", ">", idleCutoff)
      .get(),
  ]);
  counters.reads += Math.max(1, silentIdle.size) + Math.max(1, offlineIdle.size);

  const byDecision = new Map<PresenceDecision, Machine[]>();
  for (const m of [
    ...running,
    ...silentIdle.docs.map((d) => d.data()),
    ...offlineIdle.docs.map((d) => d.data()),
  ]) {
    // A report-only board is judged against the late end of its cycle (domain/presence.ts).
    const d = presenceDecision(
      { ...m, expectedEndAt: m.expectedEndHigh ?? m.expectedEndAt },
      now,
      limits,
    );
    byDecision.set(d, [...(byDecision.get(d) ?? []), m]);
  }
  const goOffline = byDecision.get("goOffline") ?? [];
  const goOnline = byDecision.get("backOnline") ?? [];

  // 1. Notices first (see the header), 2. then the flags.
  let noticesCreated = 0;
  if (goOffline.length > 0) {
    const admins = await adminUids(db);
    counters.reads += Math.max(1, admins.length);
    const notices: Notice[] = goOffline.flatMap((m) =>
      admins.map((uid) => ({
        id: offlineNoticeKey(m.machineId, m.lastSeenAt),
        uid,
        type: "machine_offline",
        machineId: m.machineId,
        roomId: m.roomId,
        text: (locale) =>
          offlineAdminMessage(
            { id: m.machineId, name: m.name, type: m.type },
            m.lastSeenAt === null
              ? locale === "ko"
                ? "없음"
                : "never"
              : relativeTime(m.lastSeenAt, now, locale),
            locale,
          ),
        ttlSeconds: OFFLINE_NOTICE_TTL_SECONDS,
      })),
    );
    noticesCreated = (await sendNotices(db, notices, now, counters)).created;
  }

  const wentOffline: string[] = [];
  const backOnline: string[] = [];
  await Promise.all([
    ...goOffline.map(async (m) => {
      try {
        await machines
          .doc(m.machineId)
          .update({ online: false }, m.updateTime ? { lastUpdateTime: m.updateTime } : {});
        counters.writes += 1;
        wentOffline.push(m.machineId);
      } catch (err) {
        // FAILED_PRECONDITION: the machine was heard from since the read; it is online.
        if ((err as { code?: unknown }).code !== 9) throw err;
      }
    }),
    ...goOnline.map(async (m) => {
      await machines.doc(m.machineId).update({ online: true });
      counters.writes += 1;
      backOnline.push(m.machineId);
    }),
  ]);
  if (wentOffline.length + backOnline.length > 0) {
    logger.info("presence changed", { wentOffline, backOnline, noticesCreated });
  }
  return { wentOffline, backOnline, noticesCreated };
}
