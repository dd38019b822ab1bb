/**
 * Runs a simulated laundry room against a `device` endpoint and returns what happened: every
 * request sent with its response, and the ground truth (the cycles each machine completed, by
 * the server's own definitions) so tests can compare the server's statistics with it.
 *
 * Each machine has two lanes (updates, heartbeats), each strictly in plan order, because the
 * server rate-limits the two kinds separately; machines run side by side, with `concurrency`
 * requests in flight at most.
 */
import type { MachineType } from "../../functions/src/domain/status";
import { type AuthMode, type DeviceIdentity, DeviceClient, type SendResult } from "./client";
import { type ClockDeps, type Speed, VirtualClock, realClockDeps, spanEndingAt } from "./clock";
import {
  type MachinePlan,
  type ModelOptions,
  type PlannedEvent,
  type SimulationPlan,
  type TruthCycle,
  planSimulation,
} from "./model";

export const DEFAULT_DEVICE_URL = "http://127.0.0.1:5001/demo-washcall/asia-northeast3/device";

export interface SimMachine {
  id: string;
  type: MachineType;
  secret: string;
  /** Default: a Bearer JWT for every third machine (3rd, 6th, …), the legacy secret otherwise. */
  auth?: AuthMode;
}

/** Knobs of the model (rates, heartbeats, silence); see {@link ModelOptions}. */
export type ModelTuning = Omit<ModelOptions, "machines" | "startSec" | "spanMinutes" | "seed">;

export interface SimulationOptions {
  baseUrl: string;
  machines: readonly SimMachine[];
  /** Virtual minutes simulated; the span ends at `endMs` (default: real now at the start). */
  spanMinutes: number;
  /** Virtual seconds per real second, or "max". */
  speed: Speed;
  seed: number;
  /** Requests in flight at most, over all machines. Default 16. */
  concurrency?: number;
  /**
   * Told about the plan ("start"), every request's outcome ("sent"), retries and the end. A
   * returned promise is awaited: "start" before anything is sent, "sent" before that machine's
   * lane goes on, so a test can act (watch, subscribe, queue) at a precise point of a timeline.
   */
  onEvent?: (event: SimulationEvent) => void | Promise<void>;
  /** Minimum gap between two requests of one kind for one machine, ms. Default 1000. */
  minGapMs?: number;
  model?: ModelTuning;
  /** End of the virtual span, epoch ms (must not be in the future). Default: now. */
  endMs?: number;
  signal?: AbortSignal;
  /** Injected for tests. */
  fetch?: typeof fetch;
  clock?: ClockDeps;
}

export interface SentReport {
  kind: "update" | "heartbeat";
  machineId: string;
  /** Updates only: status as sent and device timestamp (Unix s). */
  status: string | null;
  timestamp: number | null;
  duplicate: boolean;
  outOfOrder: boolean;
  auth: AuthMode;
  /** Virtual time it was due (Unix s). */
  virtualAt: number;
  /** Real epoch ms of the first attempt. */
  sentAt: number;
  /** Final response status (null: network failure). */
  responseStatus: number | null;
  ok: boolean;
  /** Every attempt's status, e.g. [429, 200]. */
  attemptStatuses: (number | null)[];
  /** Latency of the final attempt, ms. */
  latencyMs: number;
  responseBody: unknown;
}

export type SimulationEvent =
  | {
      type: "start";
      virtualStartSec: number;
      virtualEndSec: number;
      planned: number;
      /** Everything that will be sent, per machine, in delivery order, with the ground truth. */
      plan: SimulationPlan;
    }
  | { type: "sent"; report: SentReport; virtualNowSec: number }
  | { type: "retry"; machineId: string; kind: "update" | "heartbeat"; status: number | null }
  | { type: "done"; log: SimulationLog };

export interface MachineTruth {
  id: string;
  type: MachineType;
  auth: AuthMode;
  /** Completed cycles, oldest first. */
  cycles: TruthCycle[];
  /** Virtual Unix seconds from which it sent nothing; null if it never went silent. */
  silentFrom: number | null;
  legacyDryerFirmware: boolean;
  /** Status the server should show after the run (ignoring failed requests). */
  finalStatus: MachinePlan["finalStatus"];
}

export interface SimulationSummary {
  planned: number;
  sent: number;
  updates: number;
  heartbeats: number;
  ok: number;
  /** Non-2xx in the end (after retries), including network failures. */
  failed: number;
  duplicates: number;
  outOfOrder: number;
  /** 429s that were retried. */
  retried429: number;
  networkRetries: number;
  cycles: number;
  aborted: boolean;
}

export interface SimulationLog {
  baseUrl: string;
  seed: number;
  speed: Speed;
  virtualStartSec: number;
  virtualEndSec: number;
  realStartMs: number;
  realEndMs: number;
  /** Every request in the order responses came back. */
  reports: SentReport[];
  machines: MachineTruth[];
  /** All machines' completed cycles, by finish time. */
  cycles: TruthCycle[];
  summary: SimulationSummary;
}

/** Machines 1..n with the last third dryers and secrets `${prefix}${id}`. */
export function defaultMachines(n: number, secretPrefix = "demo-secret-"): SimMachine[] {
  const dryers = Math.floor(n / 3);
  return Array.from({ length: n }, (_, i) => {
    const id = String(i + 1);
    return { id, type: i >= n - dryers ? "dryer" : "washer", secret: `${secretPrefix}${id}` };
  });
}

export async function runSimulation(options: SimulationOptions): Promise<SimulationLog> {
  const clockDeps = options.clock ?? realClockDeps;
  const endMs = options.endMs ?? clockDeps.now();
  if (endMs > clockDeps.now() + 1000) {
    throw new Error("endMs is in the future: device timestamps would be rejected");
  }
  const span = spanEndingAt(endMs, options.spanMinutes);
  const plan = planSimulation({
    ...options.model,
    machines: options.machines.map((m) => ({ id: m.id, type: m.type })),
    startSec: span.startSec,
    spanMinutes: options.spanMinutes,
    seed: options.seed,
  });
  const devices = new Map<string, DeviceIdentity>(
    options.machines.map((m, i) => [
      m.id,
      {
        id: m.id,
        type: m.type,
        secret: m.secret,
        auth: m.auth ?? (i % 3 === 2 ? "jwt" : "secret"),
      },
    ]),
  );

  const client = new DeviceClient({
    baseUrl: options.baseUrl,
    concurrency: options.concurrency,
    minGapMs: options.minGapMs,
    fetch: options.fetch,
    clock: clockDeps,
    // Not awaited: a retry happens inside one request.
    onRetry: ({ kind, machineId, attempt }) => {
      Promise.resolve(
        options.onEvent?.({ type: "retry", machineId, kind, status: attempt.status }),
      ).catch(() => undefined);
    },
  });
  const planned = plan.machines.reduce((s, m) => s + m.events.length, 0);
  await options.onEvent?.({
    type: "start",
    virtualStartSec: span.startSec,
    virtualEndSec: span.endSec,
    planned,
    plan,
  });
  // Virtual time starts once the caller is ready.
  const clock = new VirtualClock(span, options.speed, clockDeps);

  // A failing lane (an onEvent that throws) stops the others too.
  const failed = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, failed.signal]) : failed.signal;
  const reports: SentReport[] = [];
  const runLane = async (device: DeviceIdentity, events: readonly PlannedEvent[]) => {
    for (const event of events) {
      if (signal.aborted) return;
      await clock.waitUntil(event.deliverAt, signal);
      if (signal.aborted) return;
      const result =
        event.kind === "update"
          ? await client.sendUpdate(device, event)
          : await client.sendHeartbeat(device, event);
      const report = toSentReport(device, event, result);
      reports.push(report);
      await options.onEvent?.({ type: "sent", report, virtualNowSec: clock.virtualNowSec() });
    }
  };

  const lanes: Promise<void>[] = [];
  for (const m of plan.machines) {
    const device = devices.get(m.machine.id)!;
    lanes.push(
      runLane(
        device,
        m.events.filter((e) => e.kind === "update"),
      ),
    );
    lanes.push(
      runLane(
        device,
        m.events.filter((e) => e.kind === "heartbeat"),
      ),
    );
  }
  try {
    await Promise.all(
      lanes.map((lane) =>
        lane.catch((err: unknown) => {
          failed.abort();
          throw err;
        }),
      ),
    );
  } catch (err) {
    await Promise.allSettled(lanes);
    throw err;
  }

  const machines: MachineTruth[] = plan.machines.map((m) => ({
    id: m.machine.id,
    type: m.machine.type,
    auth: devices.get(m.machine.id)!.auth,
    cycles: m.cycles,
    silentFrom: m.silentFrom,
    legacyDryerFirmware: m.legacyDryerFirmware,
    finalStatus: m.finalStatus,
  }));
  const cycles = machines
    .flatMap((m) => m.cycles)
    .sort((a, b) => a.finishedAt - b.finishedAt || a.machineId.localeCompare(b.machineId));
  const log: SimulationLog = {
    baseUrl: options.baseUrl,
    seed: options.seed,
    speed: options.speed,
    virtualStartSec: span.startSec,
    virtualEndSec: span.endSec,
    realStartMs: clock.realStartMs,
    realEndMs: clockDeps.now(),
    reports,
    machines,
    cycles,
    summary: summarize(planned, reports, cycles.length, options.signal?.aborted ?? false),
  };
  await options.onEvent?.({ type: "done", log });
  return log;
}

function toSentReport(device: DeviceIdentity, event: PlannedEvent, result: SendResult): SentReport {
  const last = result.attempts[result.attempts.length - 1];
  return {
    kind: event.kind,
    machineId: device.id,
    status: event.kind === "update" ? event.status : null,
    timestamp: event.kind === "update" ? event.timestamp : null,
    duplicate: event.kind === "update" && event.duplicate,
    outOfOrder: event.kind === "update" && event.outOfOrder,
    auth: device.auth,
    virtualAt: event.deliverAt,
    sentAt: result.attempts[0]?.at ?? 0,
    responseStatus: result.status,
    ok: result.ok,
    attemptStatuses: result.attempts.map((a) => a.status),
    latencyMs: last?.latencyMs ?? 0,
    responseBody: result.body,
  };
}

function summarize(
  planned: number,
  reports: readonly SentReport[],
  cycles: number,
  aborted: boolean,
): SimulationSummary {
  const updates = reports.filter((r) => r.kind === "update");
  const retries = reports.flatMap((r) => r.attemptStatuses.slice(0, -1));
  return {
    planned,
    sent: reports.length,
    updates: updates.length,
    heartbeats: reports.length - updates.length,
    ok: reports.filter((r) => r.ok).length,
    failed: reports.filter((r) => !r.ok).length,
    duplicates: updates.filter((r) => r.duplicate).length,
    outOfOrder: updates.filter((r) => r.outOfOrder).length,
    retried429: retries.filter((s) => s === 429).length,
    networkRetries: retries.filter((s) => s === null).length,
    cycles,
    aborted,
  };
}
