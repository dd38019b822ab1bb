/**
 * The tick's reminders (rules and keys in domain/reminders.ts), sent as notices once per user
 * and key (store/notices.ts).
 * - "Finishing in N minutes": running machines whose shown timer has 0 < time left <= N, to their
 *   current watchers; only those machines cost a read.
 * - "Laundry still inside": cycles that FINISHED M minutes ago (a catch-up covers a late tick or
 *   report), unless a newer cycle started on the machine; to who started it (`startedBy`) and who
 *   watched it then (`cycleWatchers/{cycleId}`: the FINISHED fan-out deleted the watches).
 */
import { Timestamp } from "firebase-admin/firestore";
import type { Settings } from "../../config";
import {
  type Reminder,
  finishingSoonReminders,
  laundryLeftReminders,
  reminderText,
} from "../../domain/reminders";
import type { RoomTimers } from "../../domain/timers";
import { MINUTE_MS } from "../../domain/time";
import type { Machine } from "../../data/model";
import type { TickContext } from "./base";
import { type Notice, sendNotices } from "../../store/notices";
import { getAll, refs } from "../../data/refs";

/** N ("finishing in N minutes") and M ("laundry still inside" M minutes after FINISHED). */
type ReminderLimits = Settings["reminders"];
/** How far back (beyond M) a tick looks for finished cycles it may have missed. */
const LEFTOVER_CATCH_UP_MINUTES = 5;

const SOON_TTL_SECONDS = 10 * 60;
const LEFTOVER_TTL_SECONDS = 60 * 60;

export interface RemindersResult {
  /** Reminders due this minute (already delivered ones included). */
  finishingSoon: number;
  laundryLeft: number;
  /** Inbox entries this run created (each with its push). */
  created: number;
}

function toNotification(
  r: Reminder,
  m: Pick<Machine, "name" | "type" | "roomId">,
  extra: Record<string, string | number | null>,
): Notice {
  const soon = r.kind === "finishingSoon";
  return {
    id: r.key,
    uid: r.uid,
    type: soon ? "finishing_soon" : "laundry_left",
    machineId: r.machineId,
    roomId: m.roomId,
    text: (locale) => reminderText(r.kind, m, r.minutes, locale),
    extra: { minutes: r.minutes, ...extra },
    ttlSeconds: soon ? SOON_TTL_SECONDS : LEFTOVER_TTL_SECONDS,
  };
}

async function finishingSoonNotifications(
  { db, now, counters }: TickContext,
  running: readonly Machine[],
  timers: ReadonlyMap<string, RoomTimers>,
  soonMinutes: number,
): Promise<Notice[]> {
  const candidates = running.flatMap((m) => {
    const t = m.roomId === null ? undefined : timers.get(m.roomId)?.[m.machineId];
    const end = t?.expectedEndAt ?? m.expectedEndAt;
    if (end === null || m.cycleStartedAt === null) return [];
    const left = end - now;
    return left > 0 && left <= soonMinutes * MINUTE_MS ? [{ m, end }] : [];
  });
  const lists = await Promise.all(
    candidates.map(async ({ m, end }) => {
      const watchers = await refs(db).watchers(m.machineId).get();
      counters.reads += Math.max(1, watchers.size);
      return finishingSoonReminders({
        machine: { ...m, expectedEndAt: end },
        subscribers: watchers.docs.map((d) => d.id),
        now,
        minutes: soonMinutes,
      }).map((r) => toNotification(r, m, { cycleStartedAt: m.cycleStartedAt }));
    }),
  );
  return lists.flat();
}

async function laundryLeftNotifications(
  { db, now, counters }: TickContext,
  limits: ReminderLimits,
): Promise<Notice[]> {
  const newest = now - limits.leftoverMinutes * MINUTE_MS;
  const oldest = newest - LEFTOVER_CATCH_UP_MINUTES * MINUTE_MS;
  const cyclesSnap = await refs(db)
    .cycles.where("finishedAt", ">", Timestamp.fromMillis(oldest))
    .where("finishedAt", "<=", Timestamp.fromMillis(newest))
    .get();
  counters.reads += Math.max(1, cyclesSnap.size);
  if (cyclesSnap.empty) return [];
  const cycles = cyclesSnap.docs.map((d) => d.data());
  const machineIds = [...new Set(cycles.map((c) => c.machineId))];
  const machineSnaps = await getAll(
    db,
    machineIds.map((id) => refs(db).machine(id)),
  );
  const recordSnaps = await db.getAll(...cycles.map((c) => refs(db).cycleWatchers(c.id)));
  counters.reads += machineSnaps.length + recordSnaps.length;
  const machines = new Map(machineSnaps.map((s) => [s.id, s.data()]));

  return cycles.flatMap((c, i) => {
    const m = machines.get(c.machineId);
    if (!m) return [];
    // A later cycle of the same machine started since: the laundry was taken out.
    if (cycles.some((o) => o.machineId === c.machineId && o.startedAt > c.finishedAt)) {
      return [];
    }
    // Who watched the cycle when it finished: `cycleWatchers/{cycleId}.uids` (uid → true).
    const recorded: unknown = recordSnaps[i]?.get("uids");
    const uids = Object.entries(typeof recorded === "object" && recorded !== null ? recorded : {})
      .filter(([, on]) => on === true)
      .map(([uid]) => uid);
    if (c.startedBy) uids.unshift(c.startedBy);
    return laundryLeftReminders({
      machine: { ...m, finishedAt: c.finishedAt },
      recipients: uids,
      now,
      minutes: limits.leftoverMinutes,
    }).map((r) => toNotification(r, m, { cycleId: c.id }));
  });
}

export async function sendReminders(
  deps: TickContext,
  running: readonly Machine[],
  timers: ReadonlyMap<string, RoomTimers>,
  limits: ReminderLimits,
): Promise<RemindersResult> {
  const [soon, left] = await Promise.all([
    finishingSoonNotifications(deps, running, timers, limits.soonMinutes),
    laundryLeftNotifications(deps, limits),
  ]);
  const delivered = await sendNotices(deps.db, [...soon, ...left], deps.now, deps.counters);
  return { finishingSoon: soon.length, laundryLeft: left.length, created: delivered.created };
}
