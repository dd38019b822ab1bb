/**
 * Every minute (Asia/Seoul): room timer snapshots, device presence, expired queue offers
 * (store/queue.ts; its reads and writes are not in the tick's counters) and reminders.
 *
 * Idempotent per schedule time: `now` is the schedule time truncated to the minute, every part
 * compares values or creates deterministic ids, and a run that completed records
 * `idempotency/tick-{key}`, so a repeated delivery of the same minute reads one document and
 * writes nothing. A part that fails does not stop the others; the run then throws (no marker) and
 * the scheduler's retry redoes only what is missing.
 */
import * as logger from "firebase-functions/logger";
import { Timestamp } from "firebase-admin/firestore";
import { onSchedule } from "firebase-functions/v2/scheduler";
import { tickKey, tickMinuteMs } from "../domain/tick";
import { isAlreadyExists } from "../data/db";
import { refs } from "../data/refs";
import { type Invocation, startInvocation } from "../invocation";
import { type ExpireQueuesReport, expireQueueOffers } from "../store/queue";
import type { TickContext } from "./tick/base";
import { type PresenceResult, updatePresence } from "./tick/presence";
import { type RemindersResult, sendReminders } from "./tick/reminders";
import { updateRoomTimers } from "./tick/timers";

/** The tick's markers expire this long after they were written. */
const MARKER_TTL_MS = 7 * 24 * 3600_000;

export interface TickReport {
  key: string;
  /** The minute was already done by an earlier run: nothing was written. */
  skipped: boolean;
  runningMachines: number;
  roomsWritten: number;
  presence: PresenceResult | null;
  queue: ExpireQueuesReport | null;
  reminders: RemindersResult | null;
  counters: TickContext["counters"];
}

/** `scheduleTime` (ISO string or epoch ms) is truncated to the minute: the tick's `now`. */
export async function runTick(
  { db, settings }: Pick<Invocation, "db" | "settings">,
  scheduleTime: string | number,
): Promise<TickReport> {
  const key = tickKey(scheduleTime);
  const now = tickMinuteMs(scheduleTime);
  const counters: TickContext["counters"] = { reads: 1, writes: 0 };
  const report: TickReport = {
    key,
    skipped: false,
    runningMachines: 0,
    roomsWritten: 0,
    presence: null,
    queue: null,
    reminders: null,
    counters,
  };
  const marker = refs(db).idempotency(`tick-${key}`);
  if ((await marker.get()).exists) return { ...report, skipped: true };

  // One query for timers, presence while running and "finishing soon" alike.
  const snap = await refs(db)
    .machines.where("status", "in", ["WASHING", "SPINNING", "DRYING"])
    .get();
  counters.reads += Math.max(1, snap.size);
  const running = snap.docs.map((d) => d.data());
  report.runningMachines = running.length;
  const ctx = { db, now, counters };

  const failures: { part: string; error: string }[] = [];
  const part = async <T>(name: string, work: () => Promise<T>): Promise<T | null> => {
    try {
      return await work();
    } catch (err) {
      failures.push({ part: name, error: err instanceof Error ? err.message : String(err) });
      return null;
    }
  };
  const timers = await part("timers", () => updateRoomTimers(ctx, running));
  report.roomsWritten = timers?.roomsWritten ?? 0;
  report.presence = await part("presence", () => updatePresence(ctx, running, settings.presence));
  report.queue = await part("queue", () => expireQueueOffers(db, now, settings.claimWindowMinutes));
  report.reminders = await part("reminders", () =>
    sendReminders(ctx, running, timers?.timers ?? new Map(), settings.reminders),
  );

  if (failures.length > 0) {
    logger.error("tick failed", { key, failures });
    throw new Error(`tick ${key} failed: ${failures.map((f) => f.part).join(", ")}`);
  }
  // The marker only saves a repeated delivery the reads. An idle minute writes nothing at all.
  if (counters.writes > 0) {
    try {
      await marker.create({
        kind: "tick",
        createdAt: Timestamp.fromMillis(now),
        expireAt: Timestamp.fromMillis(now + MARKER_TTL_MS),
      });
      counters.writes += 1;
    } catch (err) {
      if (!isAlreadyExists(err)) throw err; // a concurrent delivery of the same minute finished
    }
  }
  logger.info("tick", {
    key,
    runningMachines: report.runningMachines,
    roomsWritten: report.roomsWritten,
    wentOffline: report.presence?.wentOffline.length ?? 0,
    backOnline: report.presence?.backOnline.length ?? 0,
    reminders: report.reminders,
    queueExpired: report.queue?.expired.length ?? 0,
    reads: counters.reads,
    writes: counters.writes,
  });
  return report;
}

export const tick = onSchedule(
  { schedule: "every 1 minutes", timeZone: "Asia/Seoul", retryCount: 3 },
  async (event) => {
    await runTick(startInvocation(), event.scheduleTime);
  },
);
