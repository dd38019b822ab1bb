/**
 * Device presence: when the tick marks a machine `online: false`. Pure. `lastSeenAt` is any
 * device traffic, `pingAt` only liveness traffic (heartbeat, raw_data); never heard from = silent.
 * - idle: silent `idleMinutes` (24 h) after `lastSeenAt`;
 * - running, with liveness traffic this cycle (`pingAt >= cycleStartedAt`): after
 *   `runningMinutes` (10 min): it was talking and stopped;
 * - running, report-only board (the real firmware: a wash phase can be 30+ silent minutes): only
 *   past the expected end (high estimate; else start + `unknownEndMinutes`) plus
 *   `reportOnlyMarginMinutes`, and never sooner than the running limit after its last report.
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

/**
 * goOffline: write `online: false` and notify admins once; backOnline: heard from again but still
 * flagged offline (the tick's safety net: reports and heartbeats set `online: true` themselves).
 */
export type PresenceDecision = "goOffline" | "stayOnline" | "alreadyOffline" | "backOnline";

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
  l: PresenceLimits,
): number | null {
  if (machine.lastSeenAt === null) return null;
  const running = isRunning(machine.status);
  const limitMs = (running ? l.runningMinutes : l.idleMinutes) * MINUTE_MS;
  const afterLastTraffic = machine.lastSeenAt + limitMs;
  if (!running || sendsLiveness(machine)) return afterLastTraffic;
  const start = machine.cycleStartedAt ?? machine.lastSeenAt;
  const end = machine.expectedEndAt ?? start + l.unknownEndMinutes * MINUTE_MS;
  return Math.max(afterLastTraffic, end + l.reportOnlyMarginMinutes * MINUTE_MS);
}

export function presenceDecision(
  machine: PresenceMachine,
  now: number,
  limits: PresenceLimits,
): PresenceDecision {
  const from = silentFrom(machine, limits);
  const silent = from === null || now >= from;
  if (machine.online) return silent ? "goOffline" : "stayOnline";
  return silent ? "alreadyOffline" : "backOnline";
}

/**
 * Id of the admin notice of the outage after `lastSeenAt`: the same for every tick that sees it
 * (create-if-absent), new once the machine was heard from again.
 */
export function offlineNoticeKey(machineId: string, lastSeenAt: number | null): string {
  return `offline-${machineId}-${lastSeenAt ?? "never"}`;
}
