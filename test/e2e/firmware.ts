/**
 * A model of the WashCall_Main firmware (2025-usw-project/WashCall_Main, "프로젝트 아두이노 펌웨어"),
 * for replaying real boards against the local stack. What it copies from the C++:
 *
 * - `StateManager::update`, once a second: magnitude above the spin threshold → SPINNING, above
 *   the wash threshold → WASHING (both start a new cycle from OFF/FINISHED and reset the cycle's
 *   magnitude record); below both while running → FINISHED after FINISHED_TIMEOUT_MS (5 min) of
 *   quiet; below both while idle → OFF. A report is sent only when the state changes.
 * - `Connectivity::sendReport`: `{machine_id, secret_key: SECRET_KEY (one for the whole fleet),
 *   status, machine_type: "washer" (hard-coded, dryers too), timestamp: time(nullptr),
 *   battery: 100}`, plus the three magnitudes with FINISHED.
 * - `Connectivity::sendRawData`, every loop: `{machine_id, timestamp, magnitude, deltaX, deltaY,
 *   deltaZ}` with no secret.
 * - No heartbeat, no retry, and the response body is never read (only the status is kept here,
 *   for the test's assertions).
 *
 * Time is the board's own clock (Unix seconds), advanced one loop per second; the replay sends
 * as fast as the stack answers. Idle stretches between cycles are not replayed (a board sends
 * nothing but raw samples then, and those only refresh liveness).
 */

import { mulberry32 } from "../../tools/simulator/model";

/** From config.h: the floor thresholds a freshly calibrated board uses. */
export const WASH_THRESHOLD = 2.0;
export const SPIN_THRESHOLD = 10.0;
export const FINISHED_TIMEOUT_S = 300;
/** The fleet-wide SECRET_KEY of WashCall_Main.ino. */
export const FLEET_SECRET = "secret_key_123";

type BoardState = "OFF" | "WASHING" | "SPINNING" | "FINISHED";

/** One phase of a machine's program: how long, and how hard it shakes. */
export interface Phase {
  seconds: number;
  kind: "idle" | "wash" | "spin" | "pause";
}

export interface SentRequest {
  path: "/update" | "/raw_data";
  body: Record<string, unknown>;
  status: number;
  /** The error body of a non-2xx answer (the firmware never reads it; the test does). */
  error?: unknown;
}

export class WashCallBoard {
  private state: BoardState = "OFF";
  private lastState: BoardState = "OFF";
  private stopStartS = 0;
  private washTotal = 0;
  private washCount = 0;
  private washMax = 0;
  private spinMax = 0;
  private readonly noise: () => number;
  readonly sent: SentRequest[] = [];

  constructor(
    private readonly deviceUrl: string,
    readonly machineId: number,
    /** The board's clock, Unix seconds. */
    public clock: number,
    seed: number,
  ) {
    // Deterministic noise, so replays are identical run to run.
    this.noise = mulberry32(seed);
  }

  /** Runs the board through `phases`, one loop per second. */
  async run(phases: readonly Phase[]): Promise<void> {
    for (const phase of phases) {
      for (let s = 0; s < phase.seconds; s++) {
        await this.loop(this.magnitude(phase.kind));
        this.clock += 1;
      }
    }
  }

  /** The reports (not raw samples) this board sent, in order. */
  reports(): Record<string, unknown>[] {
    return this.sent.filter((r) => r.path === "/update").map((r) => r.body);
  }

  private magnitude(kind: Phase["kind"]): number {
    const n = this.noise();
    switch (kind) {
      case "idle":
        return 0.1 + 0.3 * n;
      case "pause":
        return 0.5 + 0.8 * n;
      case "wash":
        return 3 + 4 * n;
      case "spin":
        return 12 + 4 * n;
    }
  }

  /** `loop()` of WashCall_Main.ino: state machine, report on change, one raw sample. */
  private async loop(magnitude: number): Promise<void> {
    let next = this.state;
    let justFinished = false;
    if (magnitude > SPIN_THRESHOLD) {
      if (this.state === "OFF" || this.state === "FINISHED") this.resetCycle();
      next = "SPINNING";
      this.spinMax = Math.max(this.spinMax, magnitude);
      this.stopStartS = 0;
    } else if (magnitude > WASH_THRESHOLD) {
      if (this.state === "OFF" || this.state === "FINISHED") this.resetCycle();
      next = "WASHING";
      this.washTotal += magnitude;
      this.washCount++;
      this.washMax = Math.max(this.washMax, magnitude);
      this.stopStartS = 0;
    } else if (this.state === "WASHING" || this.state === "SPINNING") {
      if (this.stopStartS === 0) this.stopStartS = this.clock;
      if (this.clock - this.stopStartS > FINISHED_TIMEOUT_S) {
        next = "FINISHED";
        justFinished = true;
      }
    } else if (this.state !== "FINISHED") {
      next = "OFF";
    }

    if (next !== this.lastState) {
      this.state = next;
      const body: Record<string, unknown> = {
        machine_id: this.machineId,
        secret_key: FLEET_SECRET,
        status: next,
        machine_type: "washer",
        timestamp: this.clock,
        battery: 100,
      };
      if (justFinished) {
        body.wash_avg_magnitude = this.washCount > 0 ? this.washTotal / this.washCount : 0;
        body.wash_max_magnitude = this.washMax;
        body.spin_max_magnitude = this.spinMax;
      }
      await this.post("/update", body);
      this.lastState = next;
    }
    await this.post("/raw_data", {
      machine_id: this.machineId,
      timestamp: this.clock,
      magnitude,
      deltaX: magnitude * 0.5,
      deltaY: magnitude * 0.3,
      deltaZ: magnitude * 0.2,
    });
  }

  private resetCycle(): void {
    this.washTotal = 0;
    this.washCount = 0;
    this.washMax = 0;
    this.spinMax = 0;
  }

  /** HTTPClient.POST: no retry; the body is drained and ignored. */
  private async post(path: SentRequest["path"], body: Record<string, unknown>): Promise<void> {
    const res = await fetch(`${this.deviceUrl}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const answer = await res.json();
    this.sent.push({ path, body, status: res.status, ...(res.ok ? {} : { error: answer }) });
  }
}

/** A standard wash: wash with two fill pauses, a rinse spin, a rinse, the final spin. */
export const STANDARD_WASH: Phase[] = [
  { seconds: 10, kind: "idle" },
  { seconds: 12 * 60, kind: "wash" },
  { seconds: 60, kind: "pause" },
  { seconds: 12 * 60, kind: "wash" },
  { seconds: 90, kind: "pause" },
  { seconds: 3 * 60, kind: "spin" },
  { seconds: 8 * 60, kind: "wash" },
  { seconds: 9 * 60, kind: "spin" },
  { seconds: FINISHED_TIMEOUT_S + 5, kind: "idle" },
];

/** A quick wash: wash, one final spin. */
export const QUICK_WASH: Phase[] = [
  { seconds: 10, kind: "idle" },
  { seconds: 15 * 60, kind: "wash" },
  { seconds: 6 * 60, kind: "spin" },
  { seconds: FINISHED_TIMEOUT_S + 5, kind: "idle" },
];

/** A dryer: it tumbles at a washing machine's wash level for 50 minutes, with one pause. */
export const DRYER_RUN: Phase[] = [
  { seconds: 10, kind: "idle" },
  { seconds: 30 * 60, kind: "wash" },
  { seconds: 45, kind: "pause" },
  { seconds: 20 * 60, kind: "wash" },
  { seconds: FINISHED_TIMEOUT_S + 5, kind: "idle" },
];
