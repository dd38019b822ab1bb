/**
 * Device presence: when the tick marks a machine `online: false`, and the key of the one admin
 * notice per outage. Pure.
 *
 * A machine is silent once `now - lastSeenAt` reaches the limit for its status (default 10 min
 * while running, 24 h while idle). `lastSeenAt` is refreshed by every report and heartbeat; a
 * machine never heard from counts as silent. The report and heartbeat paths should set
 * `online: true` themselves; `backOnline` is the tick's safety net for a machine that was heard
 * from again but is still flagged offline.
 */
import { type MachineStatus, isRunning } from "./status";
import { MINUTE_MS } from "./time";

export interface PresenceLimits {
  /** Silence limit while a cycle runs. */
  runningMinutes: number;
  /** Silence limit while idle (FINISHED/OFF). */
  idleMinutes: number;
}

export const DEFAULT_PRESENCE_LIMITS: PresenceLimits = { runningMinutes: 10, idleMinutes: 1440 };

export interface PresenceMachine {
  status: MachineStatus;
  /** Epoch ms of the last report or heartbeat, null if never heard from. */
  lastSeenAt: number | null;
  online: boolean;
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

/** Whether the machine has been silent for its limit (a future `lastSeenAt` is fresh). */
export function isSilent(
  machine: Pick<PresenceMachine, "status" | "lastSeenAt">,
  now: number,
  limits: Partial<PresenceLimits> = {},
): boolean {
  if (machine.lastSeenAt === null) return true;
  return now - machine.lastSeenAt >= silenceLimitMs(machine.status, limits);
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
