/**
 * The virtual clock. The simulated span lies in the PAST: it ends at the real "now" the run
 * starts at (or an end the caller gives), so no device timestamp is ever ahead of the server's
 * clock, whatever the speed. `speed` is virtual seconds per real second; "max" delivers every
 * report as soon as the rate limit allows.
 */
export type Speed = number | "max";

export interface ClockDeps {
  /** Real clock, epoch ms. */
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

export const realClockDeps: ClockDeps = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))),
};

export interface VirtualSpan {
  /** Unix seconds. */
  startSec: number;
  endSec: number;
}

/** The span of `spanMinutes` that ends at `endMs` (whole seconds, start = end − span). */
export function spanEndingAt(endMs: number, spanMinutes: number): VirtualSpan {
  const endSec = Math.floor(endMs / 1000);
  return { startSec: endSec - Math.round(spanMinutes * 60), endSec };
}

export function parseSpeed(text: string): Speed {
  if (text.trim().toLowerCase() === "max") return "max";
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) {
    throw new Error(
      `--speed must be a positive number of virtual seconds per second or "max", got "${text}"`,
    );
  }
  return n;
}

export class VirtualClock {
  /** Real epoch ms at which virtual time `span.startSec` is "now". */
  readonly realStartMs: number;

  constructor(
    readonly span: VirtualSpan,
    readonly speed: Speed,
    private readonly deps: ClockDeps = realClockDeps,
  ) {
    this.realStartMs = deps.now();
  }

  /** Current virtual time, Unix seconds (fractional), never past the span's end. */
  virtualNowSec(): number {
    if (this.speed === "max") return this.span.endSec;
    const elapsed = (this.deps.now() - this.realStartMs) / 1000;
    return Math.min(this.span.endSec, this.span.startSec + elapsed * this.speed);
  }

  /** Real epoch ms at which virtual second `virtualSec` comes up. */
  realTimeFor(virtualSec: number): number {
    if (this.speed === "max") return this.realStartMs;
    return this.realStartMs + ((virtualSec - this.span.startSec) / this.speed) * 1000;
  }

  /** Resolves once virtual time has reached `virtualSec` (at once with speed "max"). */
  async waitUntil(virtualSec: number, signal?: AbortSignal): Promise<void> {
    if (this.speed === "max") return;
    for (;;) {
      if (signal?.aborted) return;
      const wait = this.realTimeFor(virtualSec) - this.deps.now();
      if (wait <= 0) return;
      // Sleep in slices so an abort is noticed within a second.
      await this.deps.sleep(Math.min(wait, 1000));
    }
  }
}
