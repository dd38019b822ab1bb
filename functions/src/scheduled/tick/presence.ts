/**
 * Device presence: the tick is the only writer of `machines/{id}.online: false` (device traffic
 * sets `online: true`). Per outage every admin (`admins/{uid}`) gets one notice, id
 * `offlineNoticeKey(machineId, lastSeenAt)`.
 *
 * Once-only without transactions: the notices are created before the machine is flagged offline,
 * so a retry after a crash in between finds the machine still online and the notices there. The
 * flag is written with the read's update time as a precondition, so a report that arrived
 * meanwhile wins; `backOnline` repairs the rest. Idle machines are read only through two narrow,
 * usually empty queries (index machines(online, status, lastSeenAt)).
 */
import * as logger from "firebase-functions/logger";
import { Timestamp } from "firebase-admin/firestore";
import { offlineAdminMessage } from "../../domain/messages";
import { type PresenceLimits, offlineNoticeKey, presenceDecision } from "../../domain/presence";
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
  { db, now, counters }: TickContext,
  running: readonly Machine[],
  limits: PresenceLimits,
): Promise<PresenceResult> {
  const idleCutoff = Timestamp.fromMillis(now - limits.idleMinutes * MINUTE_MS);
  const machines = refs(db).machines;
  const idleQuery = (online: boolean, seen: "<=" | ">") =>
    machines
      .where("online", "==", online)
      .where("status", "in", IDLE)
      .where("lastSeenAt", seen, idleCutoff)
      .get();
  // Idle machines silent for the limit while flagged online, and heard from while flagged offline.
  const idleSnaps = await Promise.all([idleQuery(true, "<="), idleQuery(false, ">")]);
  counters.reads += idleSnaps.reduce((n, snap) => n + Math.max(1, snap.size), 0);

  // A report-only board is judged against the late end of its cycle (domain/presence.ts).
  const decide = (m: Machine) =>
    presenceDecision({ ...m, expectedEndAt: m.expectedEndHigh ?? m.expectedEndAt }, now, limits);
  const idle = idleSnaps.flatMap((snap) => snap.docs.map((d) => d.data()));
  const candidates = [...running, ...idle];
  const goOffline = candidates.filter((m) => decide(m) === "goOffline");
  const goOnline = candidates.filter((m) => decide(m) === "backOnline");

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
