/**
 * The live timers the tick writes to `rooms/{id}.timers`: one per running machine, with the
 * minutes left until its expected end. Pure.
 *
 * Minutes left are rounded up (30 s left shows 1), so 0 means the expected end has passed: such a
 * cycle is `finishing` (the PWA shows "곧 끝나요" rather than a negative or frozen number) until the
 * machine reports FINISHED and drops out of the map. An idle room has an empty map, and
 * {@link timersChanged} tells the tick to write only when a value differs from what is stored, so
 * an idle room that is already empty costs no write at all.
 */
import { type CourseStats, courseKey, expectedEnd } from "./stats";
import { type MachineStatus, type MachineType, isRunning } from "./status";
import { minutesUntil } from "./time";

/** A machine document, as far as its timer needs it. */
export interface TimerMachine {
  machineId: string;
  type: MachineType;
  status: MachineStatus;
  /** The course name as stored on the machine (keyed with {@link courseKey} for the lookup). */
  course: string | null;
  cycleStartedAt: number | null;
  spinStartedAt: number | null;
  /** Stored estimate, used only when the cycle's start is unknown. */
  expectedEndAt?: number | null;
  /** The course figures the cycle was timed with when it started; else the lookup's. */
  estimate?: CourseStats | null;
}

/** Course averages by machine type and course key (see {@link courseKey}). */
export type StatsLookup = (type: MachineType, course: string) => CourseStats | null;

export interface MachineTimer {
  status: MachineStatus;
  /** Whole minutes until `expectedEndAt`, rounded up, never negative. */
  remainingMinutes: number;
  expectedEndAt: number;
  /** The expected end has passed and the machine has not reported FINISHED yet. */
  finishing: boolean;
}

export type RoomTimers = Record<string, MachineTimer>;

/** Timers of the room's running machines at `now`; idle machines are left out. */
export function roomTimers(
  machines: readonly TimerMachine[],
  statsFor: StatsLookup,
  now: number,
): RoomTimers {
  const timers: RoomTimers = {};
  for (const m of machines) {
    if (!isRunning(m.status)) continue;
    const stats = m.estimate ?? statsFor(m.type, courseKey(m.course));
    // The stored estimate only when the cycle's start is unknown (expectedEnd is null then).
    const estimate = expectedEnd(m.type, m, stats)?.expectedEndAt ?? m.expectedEndAt ?? null;
    if (estimate === null) continue;
    // Whole milliseconds: averages with decimals must not make float noise look like a change.
    const end = Math.round(estimate);
    const remainingMinutes = minutesUntil(now, end);
    timers[m.machineId] = {
      status: m.status,
      remainingMinutes,
      expectedEndAt: end,
      finishing: remainingMinutes === 0,
    };
  }
  return timers;
}

const TIMER_FIELDS = ["status", "remainingMinutes", "expectedEndAt", "finishing"] as const;

/**
 * Whether `next` differs from what is stored (`prev`; missing counts as empty), by value: the
 * same machines with the same status, minutes, end and finishing flag is no change.
 */
export function timersChanged(
  prev: Readonly<Record<string, Partial<MachineTimer>>> | null | undefined,
  next: RoomTimers,
): boolean {
  const before = prev ?? {};
  if (Object.keys(before).length !== Object.keys(next).length) return true;
  return Object.entries(next).some(([id, b]) => {
    const a = before[id];
    return !a || TIMER_FIELDS.some((f) => a[f] !== b[f]);
  });
}
