/** Time left of a machine, from its live document (and the room's timers as a fallback). Pure. */
import type { Machine, Room } from "../data";

export const RUNNING: ReadonlySet<string> = new Set(["WASHING", "SPINNING", "DRYING"]);
/** "곧 끝나요" from this many minutes left. */
export const SOON_MINUTES = 5;

export interface Timing {
  running: boolean;
  minutesLeft: number | null;
  range: { low: number; high: number } | null;
  soon: boolean;
}

const left = (end: number, now: number) => Math.max(0, Math.ceil((end - now) / 60_000));

export function timingOf(m: Machine, room: Room | null, now: number): Timing {
  const running = RUNNING.has(m.status);
  if (!running) return { running, minutesLeft: null, range: null, soon: false };
  const timer = room?.timers[m.id];
  const end = m.expectedEndAt ?? timer?.expectedEndAt ?? null;
  const minutesLeft = end === null ? null : left(end, now);
  const range =
    m.expectedEndRange && m.expectedEndRange.high > m.expectedEndRange.low
      ? { low: left(m.expectedEndRange.low, now), high: left(m.expectedEndRange.high, now) }
      : null;
  const soon = timer?.finishing === true || (minutesLeft !== null && minutesLeft <= SOON_MINUTES);
  return { running, minutesLeft, range, soon };
}
