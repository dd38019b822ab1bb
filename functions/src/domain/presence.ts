/**
 * Device presence: when the tick marks a machine `online: false`, and the key of the one admin
 * notice per outage. Pure.
 *
 * `lastSeenAt` is refreshed by any device traffic (reports, heartbeats, raw_data; throttled);
 * `pingAt` only by the liveness traffic between reports (heartbeat, raw_data). A machine never
 * heard from counts as silent. Limits:
 * - idle (FINISHED/OFF): silent once `now - lastSeenAt` reaches `idleMinutes` (24 h);
 * - running, and the board sent liveness traffic during this cycle (`pingAt >= cycleStartedAt`):
 *   silent after `runningMinutes` (10 min) without traffic: it was talking and stopped;
 * - running, report-only board (the WashCall_Main firmware without raw_data, or any board that
 *   reports only state changes; a wash phase can last 30+ minutes in silence): silent only once
 *   the cycle's expected end (its high estimate; without one, `cycleStartedAt` +
 *   `unknownEndMinutes`) plus `reportOnlyMarginMinutes` has passed, and never sooner than the
 *   running limit after its last report.
 * The report and heartbeat paths set `online: true` themselves; `backOnline` is the tick's safety
 * net for a machine that was heard from again but is still flagged offline.
 */
import { type MachineStatus, isRunning } from "./status";
import { MINUTE_MS } from "./time";

export interface PresenceLimits {
  /** Silence limit while a cycle runs on a board that sends liveness traffic. */
  runningMinutes: number;
  /** Silence limit while idle (FINISHED/OFF). */
  idleMinutes: number;
  /** Grace after a report-only board's expected end before it counts as silent. */
  reportOnlyMarginMinutes: number;
  /** A report-only board's cycle with no expected end yet: assumed to end this long after its start. */
  unknownEndMinutes: number;
}

export const DEFAULT_PRESENCE_LIMITS: PresenceLimits = {
  runningMinutes: 10,
  idleMinutes: 1440,
  reportOnlyMarginMinutes: 30,
  unknownEndMinutes: 180,
};

export interface PresenceMachine {
  status: MachineStatus;
  /** Epoch ms of the last device traffic of any kind, null if never heard from. */
  lastSeenAt: number | null;
  online: boolean;
  /** Epoch ms of the last liveness traffic (heartbeat, raw_data); null or absent: never. */
  pingAt?: number | null;
  /** Epoch ms the running cycle started (device clock). */
  cycleStartedAt?: number | null;
  /** Epoch ms the running cycle is expected to end at the latest (the range's high end). */
  expectedEndAt?: number | null;
}

export type PresenceDecision =
  /** Online and silent past the limit: write `online: false` and notify admins once. */
  | "goOffline"
  /** Online and heard from recently: nothing to do. */
  | "stayOnline"
  /** Offline and still silent: nothing to do (the outage was announced already). */
  | "alreadyOffline"
  /** Flagged offline but heard from within the limit: write `online: true`. */
  | "backOnline";

/** The silence limit in ms for a machine in `status`. */
export function silenceLimitMs(
  status: MachineStatus,
  limits: Partial<PresenceLimits> = {},
): number {
  const l = { ...DEFAULT_PRESENCE_LIMITS, ...limits };
  return (isRunning(status) ? l.runningMinutes : l.idleMinutes) * MINUTE_MS;
}

/** Whether the board sent liveness traffic (not only reports) during its running cycle. */
export function sendsLiveness(
  machine: Pick<PresenceMachine, "pingAt" | "cycleStartedAt">,
): boolean {
  const { pingAt = null, cycleStartedAt = null } = machine;
  return pingAt !== null && (cycleStartedAt === null || pingAt >= cycleStartedAt);
}

/**
 * Epoch ms from which the machine counts as silent if nothing more is heard (null: already, as
 * it was never heard from). A future `lastSeenAt` (device clock ahead) keeps it fresh.
 */
export function silentFrom(
  machine: Omit<PresenceMachine, "online">,
  limits: Partial<PresenceLimits> = {},
): number | null {
  if (machine.lastSeenAt === null) return null;
  const l = { ...DEFAULT_PRESENCE_LIMITS, ...limits };
  const afterLastTraffic = machine.lastSeenAt + silenceLimitMs(machine.status, l);
  if (!isRunning(machine.status) || sendsLiveness(machine)) return afterLastTraffic;
  const start = machine.cycleStartedAt ?? machine.lastSeenAt;
  const end = machine.expectedEndAt ?? start + l.unknownEndMinutes * MINUTE_MS;
  return Math.max(afterLastTraffic, end + l.reportOnlyMarginMinutes * MINUTE_MS);
}

/** Whether the machine has been silent past its limit (see the header for the limits). */
export function isSilent(
  machine: Omit<PresenceMachine, "online">,
  now: number,
  limits: Partial<PresenceLimits> = {},
): boolean {
  const from = silentFrom(machine, limits);
  return from === null || now >= from;
}

export function presenceDecision(
  machine: PresenceMachine,
  now: number,
  limits: Partial<PresenceLimits> = {},
): PresenceDecision {
  const silent = isSilent(machine, now, limits);
  if (machine.online) return silent ? "goOffline" : "stayOnline";
  return silent ? "alreadyOffline" : "backOnline";
}

/**
 * Id of the admin notice for the outage that began after `lastSeenAt`: every tick that sees the
 * same outage computes the same key (write it with create-if-absent), and a later outage, after
 * the machine was heard from again, has a new `lastSeenAt` and so a new key.
 */
export function offlineNoticeKey(machineId: string, lastSeenAt: number | null): string {
  return `offline-${machineId}-${lastSeenAt ?? "never"}`;
}
