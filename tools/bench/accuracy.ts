/**
 * Time-left accuracy: how far the expected end announced when a cycle starts is from the real
 * end, for our estimate and for the original server's fixed figures, on a simulated week of
 * laundry rooms whose machines vary as real ones do. Pure computation over the domain's own
 * statistics code (domain/stats.ts), fed as the report trigger feeds it (store/applyReport.ts:
 * a room's histograms, the fleet's figures as the prior while the room has fewer than five kept
 * cycles, rolled up once a day); no Firestore.
 *
 * The model (deterministic, seeded):
 * - 12 rooms, each with 4 washers and 2 dryers of one model. A room's model sets its durations:
 *   washer total uniform in 38–58 min of which the final spin is 8–13 min; dryer 45–75 min.
 * - A cycle's duration is the model's times a load factor, log-normal with σ = 0.08 (a light
 *   load is quicker, a heavy one slower); 3 % of cycles run long, +15 to +60 min (a door opened
 *   mid-cycle, a paused programme); 2 % stop early at 40–60 % (a cancelled programme).
 * - Each machine runs 6 cycles a day, starting at random times between 07:00 and 23:00.
 * - Rooms 1–10 have run for a week; rooms 11–12 open on the last day (no history: they start
 *   from the fleet's figures).
 * - Measured: every cycle of the last day, the error |expected end − real end| in minutes at the
 *   cycle's start.
 *
 * The original (FastAPI) server's timer at a cycle's start: a washer's course_washing_map
 * (36 min, the standard course), a dryer's 45 min; it does not learn.
 */
import {
  type CourseHistograms,
  type CourseStats,
  EMPTY_HISTOGRAMS,
  PRIOR_SAMPLES,
  addSample,
  courseStats,
  filteredMean,
  mergeHistograms,
} from "../../functions/src/domain/stats";
import type { MachineType } from "../../functions/src/domain/status";
import { mulberry32 } from "../simulator/model";

const ROOMS = 12;
const NEW_ROOMS = 2;
const DAYS = 7;
const CYCLES_PER_MACHINE_PER_DAY = 6;
const ORIGINAL_MINUTES: Record<MachineType, number> = { washer: 36, dryer: 45 };

export interface AccuracyFigures {
  cycles: number;
  ours: { p50Minutes: number; p90Minutes: number };
  original: { p50Minutes: number; p90Minutes: number };
  /** The two rooms that opened on the measured day, ours only. */
  newRooms: { cycles: number; p50Minutes: number; p90Minutes: number };
}

interface SimCycle {
  room: number;
  type: MachineType;
  day: number;
  startMinute: number;
  washMinutes: number | null;
  spinMinutes: number | null;
  totalMinutes: number;
}

function simulate(rand: () => number): SimCycle[] {
  const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const cycles: SimCycle[] = [];
  for (let room = 1; room <= ROOMS; room++) {
    const washerTotal = 38 + 20 * rand();
    const washerSpin = 8 + 5 * rand();
    const dryerTotal = 45 + 30 * rand();
    const firstDay = room > ROOMS - NEW_ROOMS ? DAYS : 1;
    for (let day = firstDay; day <= DAYS; day++) {
      for (let machine = 0; machine < 6; machine++) {
        const type: MachineType = machine < 4 ? "washer" : "dryer";
        for (let k = 0; k < CYCLES_PER_MACHINE_PER_DAY; k++) {
          let factor = Math.exp(0.08 * normal());
          let extra = 0;
          const u = rand();
          if (u < 0.03) extra = 15 + 45 * rand();
          else if (u < 0.05) factor *= 0.4 + 0.2 * rand();
          const base = type === "washer" ? washerTotal : dryerTotal;
          const total = Math.round((base * factor + extra) * 60) / 60;
          const spin = type === "washer" ? Math.min(total, Math.round(washerSpin * factor * 60) / 60) : null;
          cycles.push({
            room,
            type,
            day,
            startMinute: 7 * 60 + Math.floor(rand() * 16 * 60),
            washMinutes: spin === null ? null : total - spin,
            spinMinutes: spin,
            totalMinutes: total,
          });
        }
      }
    }
  }
  return cycles.sort((a, b) => a.day - b.day || a.startMinute - b.startMinute);
}

const key = (room: number, type: MachineType) => `${room}-${type}`;

export function measureAccuracy(seed = 20261130): AccuracyFigures {
  const cycles = simulate(mulberry32(seed));
  const rooms = new Map<string, CourseHistograms>();
  let fleet = new Map<MachineType, CourseStats | null>();
  const rollUp = () => {
    fleet = new Map(
      (["washer", "dryer"] as const).map((type) => {
        const all = [...rooms].filter(([k]) => k.endsWith(type)).map(([, h]) => h);
        return [type, courseStats(type, "standard", mergeHistograms(all))];
      }),
    );
  };
  const ours: number[] = [];
  const original: number[] = [];
  const newRooms: number[] = [];
  // Cycles end in the order of their real end; a cycle's estimate sees every cycle that ended
  // before it started.
  const pending: { endsAt: number; c: SimCycle }[] = [];
  let day = 1;
  for (const c of cycles) {
    const startsAt = c.day * 1440 + c.startMinute;
    pending.sort((a, b) => a.endsAt - b.endsAt);
    while (pending.length > 0 && pending[0].endsAt <= startsAt) {
      const done = pending.shift()!.c;
      const k = key(done.room, done.type);
      rooms.set(k, addSample(rooms.get(k) ?? EMPTY_HISTOGRAMS, done, 1));
    }
    for (; day < c.day; day++) rollUp();
    if (c.day === DAYS) {
      const h = rooms.get(key(c.room, c.type)) ?? EMPTY_HISTOGRAMS;
      const kept = filteredMean(h.total)?.kept ?? 0;
      const prior = kept >= PRIOR_SAMPLES ? null : (fleet.get(c.type) ?? null);
      const stats = courseStats(c.type, "standard", h, prior);
      const expected = stats?.avgTotalMinutes ?? (c.type === "washer" ? 50 : 60);
      const error = Math.abs(expected - c.totalMinutes);
      ours.push(error);
      original.push(Math.abs(ORIGINAL_MINUTES[c.type] - c.totalMinutes));
      if (c.room > ROOMS - NEW_ROOMS) newRooms.push(error);
    }
    pending.push({ endsAt: startsAt + c.totalMinutes, c });
  }
  const pct = (xs: number[], p: number) => {
    const s = [...xs].sort((a, b) => a - b);
    return Math.round(s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)] * 10) / 10;
  };
  return {
    cycles: ours.length,
    ours: { p50Minutes: pct(ours, 0.5), p90Minutes: pct(ours, 0.9) },
    original: { p50Minutes: pct(original, 0.5), p90Minutes: pct(original, 0.9) },
    newRooms: { cycles: newRooms.length, p50Minutes: pct(newRooms, 0.5), p90Minutes: pct(newRooms, 0.9) },
  };
}
