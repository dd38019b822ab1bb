/**
 * Which run of the KMA short-term forecast (단기예보) to ask for. Runs start at 02, 05, 08, 11,
 * 14, 17, 20 and 23 KST and are published about ten minutes after the hour, so the newest usable
 * run is the last slot at least {@link KMA_PUBLISH_DELAY_MINUTES} old; before 02:10 KST that is
 * 23:00 of the previous day. Pure: `now` is passed in.
 */
import { HOUR_MS, MINUTE_MS, kstParts } from "../../domain/time";

export const KMA_SLOT_HOURS = [2, 5, 8, 11, 14, 17, 20, 23] as const;
export const KMA_PUBLISH_DELAY_MINUTES = 10;
const SLOT_SPACING_MS = 3 * HOUR_MS;

export interface KmaSlot {
  /** `YYYYMMDD` (KST). */
  baseDate: string;
  /** `HHmm` (KST), e.g. "0200", "2300". */
  baseTime: string;
  /** The slot's start, epoch ms. */
  at: number;
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/** The slot that starts at `at` (a KST hour in {@link KMA_SLOT_HOURS}). */
function slotAt(at: number): KmaSlot {
  const p = kstParts(at);
  return {
    baseDate: `${pad(p.year, 4)}${pad(p.month)}${pad(p.day)}`,
    baseTime: `${pad(p.hour)}00`,
    at,
  };
}

/** The newest forecast run published at `now` (epoch ms). */
export function kmaBaseTime(now: number): KmaSlot {
  // Shift the clock back by the publishing delay and by the 02:00 phase of the slots; the
  // usable slot is then the last multiple of three hours (in KST).
  const usable = now - KMA_PUBLISH_DELAY_MINUTES * MINUTE_MS;
  const p = kstParts(usable);
  const sinceMidnight = (p.hour * 60 + p.minute) * MINUTE_MS;
  const kstMidnight = usable - sinceMidnight - (usable % MINUTE_MS);
  const phase = 2 * HOUR_MS;
  const slotOffset = Math.floor((sinceMidnight - phase) / SLOT_SPACING_MS) * SLOT_SPACING_MS;
  return slotAt(kstMidnight + phase + slotOffset);
}

/** The run before `slot` (three hours earlier). */
export function previousSlot(slot: KmaSlot): KmaSlot {
  return slotAt(slot.at - SLOT_SPACING_MS);
}
