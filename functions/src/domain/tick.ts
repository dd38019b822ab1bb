/**
 * The scheduled tick's idempotency key. Pure.
 *
 * Cloud Scheduler may deliver the same schedule time more than once; truncating it to the minute
 * gives one key per run, so the tick records `tick-<key>` (create-if-absent) and a repeated run
 * for the same minute does nothing new.
 */
import { MINUTE_MS } from "./time";

/**
 * `scheduleTime` (ISO 8601, e.g. the event's `scheduleTime`, or epoch ms) truncated to the minute,
 * as an ISO string in UTC without seconds: `2026-11-22T01:55Z`. Throws on an unreadable time.
 */
export function tickKey(scheduleTime: string | number): string {
  const ms = typeof scheduleTime === "number" ? scheduleTime : Date.parse(scheduleTime);
  if (!Number.isFinite(ms))
    throw new RangeError(`unreadable schedule time: ${String(scheduleTime)}`);
  const minute = Math.floor(ms / MINUTE_MS) * MINUTE_MS;
  return `${new Date(minute).toISOString().slice(0, 16)}Z`;
}

/** The epoch ms of the minute a tick key stands for (the tick's `now`). */
export function tickMinuteMs(scheduleTime: string | number): number {
  return Date.parse(tickKey(scheduleTime));
}
