import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_CYCLE_BOUNDS,
  type StoredCycle,
  planReport,
} from "../../functions/src/domain/apply";
import { thresholds } from "../../functions/src/domain/calibration";
import {
  congestionDelta,
  gridToWeekdayTable,
  hoursSpanned,
} from "../../functions/src/domain/congestion";
import {
  type DeviceReport,
  IDLE_STATE,
  compareReports,
  foldReports,
  reportId,
} from "../../functions/src/domain/cycle";
import { type DeviceStatus, isBoundary, normalizeStatus } from "../../functions/src/domain/status";
import {
  type CourseHistograms,
  type CourseSample,
  EMPTY_HISTOGRAMS,
  addSample,
  courseStats,
  expectedEnd,
  filteredMean,
} from "../../functions/src/domain/stats";

const T0 = Date.UTC(2026, 10, 16, 0, 50) / 1000; // Monday 09:50 KST
const r = (
  status: DeviceStatus,
  minutes: number,
  magnitudes: DeviceReport["magnitudes"] = null,
): DeviceReport => ({
  id: reportId(T0 + minutes * 60, status),
  status,
  timestamp: T0 + minutes * 60,
  magnitudes,
});
/** Histograms of a set of cycles, added one by one as the trigger adds them. */
const histogramsOf = (samples: readonly CourseSample[]) =>
  samples.reduce((h, c) => addSample(h, c, 1), EMPTY_HISTOGRAMS);

describe("status mapping", () => {
  it("stores a dryer's WASHING and SPINNING as DRYING and leaves washers alone", () => {
    expect(normalizeStatus("dryer", "WASHING")).toBe("DRYING");
    expect(normalizeStatus("dryer", "SPINNING")).toBe("DRYING");
    expect(normalizeStatus("dryer", "FINISHED")).toBe("FINISHED");
    expect(normalizeStatus("washer", "SPINNING")).toBe("SPINNING");
  });
});

describe("cycle fold", () => {
  it("WASHING → SPINNING → FINISHED completes one cycle of 30/10/40 minutes", () => {
    const { state, cycles } = foldReports("1", "washer", IDLE_STATE, [
      r("WASHING", 0),
      r("SPINNING", 30),
      r("FINISHED", 40),
    ]);
    expect(state).toEqual({
      status: "FINISHED",
      cycleStartedAt: null,
      spinStartedAt: null,
      newestReportTs: T0 + 2400,
    });
    expect(cycles).toEqual([
      expect.objectContaining({
        id: `1-${T0 + 2400}`,
        washMinutes: 30,
        spinMinutes: 10,
        totalMinutes: 40,
      }),
    ]);
  });

  it("a rinse (WASHING after SPINNING) keeps the cycle and the final spin counts as the spin", () => {
    const { cycles } = foldReports("1", "washer", IDLE_STATE, [
      r("WASHING", 0),
      r("SPINNING", 20),
      r("WASHING", 25),
      r("SPINNING", 35),
      r("FINISHED", 45),
    ]);
    expect(cycles[0]).toMatchObject({ washMinutes: 35, spinMinutes: 10, totalMinutes: 45 });
  });

  it("a dryer cycle has a total but no wash/spin split", () => {
    const { cycles } = foldReports("5", "dryer", IDLE_STATE, [
      r("DRYING", 0),
      r("DRYING", 10),
      r("FINISHED", 60),
    ]);
    expect(cycles[0]).toMatchObject({
      washMinutes: null,
      spinMinutes: null,
      totalMinutes: 60,
      spinStartedAt: null,
    });
  });

  it("OFF drops a running cycle and FINISHED on an idle machine records nothing", () => {
    const { state, cycles } = foldReports("1", "washer", IDLE_STATE, [
      r("WASHING", 0),
      r("OFF", 5),
      r("FINISHED", 9),
    ]);
    expect(cycles).toEqual([]);
    expect(state.status).toBe("FINISHED");
  });

  it("EXT_VIBE changes nothing but the newest timestamp", () => {
    const { state } = foldReports("1", "washer", IDLE_STATE, [r("WASHING", 0), r("EXT_VIBE", 3)]);
    expect(state).toMatchObject({
      status: "WASHING",
      cycleStartedAt: T0 * 1000,
      newestReportTs: T0 + 180,
    });
  });

  it("orders reports sharing a timestamp by status rank", () => {
    expect(compareReports(r("FINISHED", 1), r("WASHING", 1))).toBeGreaterThan(0);
    expect(compareReports(r("FINISHED", 0), r("WASHING", 0))).toBeGreaterThan(0);
    expect(compareReports(r("FINISHED", 0), r("OFF", 0))).toBeLessThan(0);
  });
});

describe("report decision", () => {
  // A duplicate (one of the machine's recent reports) is told by the trigger before any plan:
  // test/integration/report-trigger.test.ts.
  it("is stale when older than the newest applied report, apply otherwise", () => {
    const decide = (report: DeviceReport, newestReportTs: number | null) =>
      planReport({ ...freshInput([], report), stored: { ...IDLE_STATE, newestReportTs } }).decision;
    expect(decide(r("WASHING", 0), T0 + 60)).toBe("stale");
    expect(decide(r("WASHING", 2), T0 + 60)).toBe("apply");
    expect(decide(r("WASHING", 2), null)).toBe("apply");
  });
});

describe("statistics", () => {
  const minutes = (...totals: number[]) =>
    histogramsOf(totals.map((t) => ({ totalMinutes: t, washMinutes: null, spinMinutes: null })))
      .total;

  it("drops samples more than 50 % off the median once there are three, in any order", () => {
    expect(filteredMean(minutes(40, 42, 38, 120, 40))).toMatchObject({ mean: 40, kept: 4 });
    expect(filteredMean(minutes(120, 40, 40, 42, 38))).toMatchObject({ mean: 40, kept: 4 });
    // Median 90: 40 is 50 minutes off, more than 45.
    expect(filteredMean(minutes(40, 90, 95))).toMatchObject({ mean: 92.5, kept: 2 });
    expect(filteredMean(minutes(40, 120))?.mean).toBe(80); // too few samples to judge
    expect(filteredMean({})).toBeNull();
  });

  it("course averages of wash, spin and total, with a range around the total", () => {
    const s = courseStats(
      "washer",
      "standard",
      histogramsOf([
        { totalMinutes: 40, washMinutes: 30, spinMinutes: 10 },
        { totalMinutes: 44, washMinutes: 33, spinMinutes: 11 },
        { totalMinutes: 42, washMinutes: 32, spinMinutes: 10 },
      ]),
    );
    expect(s).toMatchObject({
      samples: 3,
      avgTotalMinutes: 42,
      avgWashMinutes: 31.7,
      avgSpinMinutes: 10.3,
      // Standard deviation 2 is under 10 % of 42: the range is ±4.2.
      lowMinutes: 37.8,
      highMinutes: 46.2,
    });
  });

  it("taking a cycle back undoes adding it exactly, whatever came between", () => {
    const a = { totalMinutes: 41.5, washMinutes: 30.25, spinMinutes: 11.25 };
    const b = { totalMinutes: 39, washMinutes: 29, spinMinutes: 10 };
    const withA = addSample(addSample(EMPTY_HISTOGRAMS, a, 1), b, 1);
    expect(addSample(withA, a, -1)).toEqual(histogramsOf([b]));
    expect(addSample(histogramsOf([b]), b, -1)).toEqual(EMPTY_HISTOGRAMS);
  });

  it("a room with few cycles leans on the fleet's figures, a fifth less with each cycle it keeps", () => {
    const fleet = courseStats(
      "washer",
      "standard",
      histogramsOf([{ totalMinutes: 50, washMinutes: 40, spinMinutes: 10 }]),
    );
    const own = (n: number) =>
      histogramsOf(
        Array.from({ length: n }, () => ({ totalMinutes: 40, washMinutes: 30, spinMinutes: 10 })),
      );
    expect(courseStats("washer", "standard", EMPTY_HISTOGRAMS, fleet)).toMatchObject({
      samples: 0,
      avgTotalMinutes: 50,
    });
    expect(courseStats("washer", "standard", own(1), fleet)?.avgTotalMinutes).toBe(48);
    expect(courseStats("washer", "standard", own(4), fleet)?.avgTotalMinutes).toBe(42);
    expect(courseStats("washer", "standard", own(5), fleet)?.avgTotalMinutes).toBe(40);
    expect(courseStats("washer", "standard", EMPTY_HISTOGRAMS, null)).toBeNull();
  });

  it("expected end is start + mean total with a range, and spin start + mean spin while spinning", () => {
    const stats = courseStats(
      "washer",
      "standard",
      histogramsOf([{ totalMinutes: 40, washMinutes: 30, spinMinutes: 10 }]),
    );
    const washing = expectedEnd(
      "washer",
      { ...IDLE_STATE, status: "WASHING", cycleStartedAt: 0 },
      stats,
    );
    expect(washing).toEqual({ expectedEndAt: 40 * 60_000, low: 36 * 60_000, high: 44 * 60_000 });
    const spinning = expectedEnd(
      "washer",
      { ...IDLE_STATE, status: "SPINNING", cycleStartedAt: 0, spinStartedAt: 32 * 60_000 },
      stats,
    );
    expect(spinning?.expectedEndAt).toBe(42 * 60_000);
    expect(expectedEnd("washer", IDLE_STATE, stats)).toBeNull();
  });

  it("calibration thresholds: wash = mean(avg)·0.7, spin = (mean(wash max)+mean(spin max))/2", () => {
    expect(thresholds({ samples: 2, washAvgSum: 1, washMaxSum: 2.6, spinMaxSum: 4.4 })).toEqual({
      wash: 0.35,
      spin: 1.75,
    });
    expect(thresholds(null)).toBeNull();
  });
});

describe("congestion", () => {
  it("adds one to every Asia/Seoul hour a cycle spans", () => {
    const start = Date.UTC(2026, 10, 15, 14, 50); // Sunday 23:50 KST
    expect(hoursSpanned(start, start + 40 * 60_000)).toEqual(["6.23", "0.0"]); // into Monday 00:30
    expect(hoursSpanned(start + 10 * 60_000, start + 70 * 60_000)).toEqual(["0.0"]);
  });

  it("nets out a cycle that is replaced by an amended one", () => {
    const a = {
      startedAt: Date.UTC(2026, 10, 16, 0, 50),
      finishedAt: Date.UTC(2026, 10, 16, 1, 30),
    };
    expect(congestionDelta([a], [a])).toEqual(new Map());
    expect(congestionDelta([], [a])).toEqual(
      new Map([
        ["0.9", 1],
        ["0.10", 1],
      ]),
    );
  });

  it("renders the weekday table Monday first with 24 hours, summing rooms", () => {
    const t = gridToWeekdayTable([{ w0h09: 2 }, { w0h09: 1, w6h23: 4 }]);
    expect(Object.keys(t)).toEqual(["월", "화", "수", "목", "금", "토", "일"]);
    expect(t["월"][9]).toBe(3);
    expect(t["일"][23]).toBe(4);
    expect(t["화"]).toHaveLength(24);
  });
});

/**
 * The store, modelled in memory exactly as the trigger uses it: reports are appended as they
 * arrive, and each delivery runs planReport over what is stored, then applies the plan. Like the
 * trigger, it reads at most `halfWindow` reports from each end of the window (the trigger: 250).
 */
class MemoryStore {
  reports = new Map<string, DeviceReport>();
  /** The machine document's `recentReports`. */
  recent: string[] = [];
  cycles = new Map<string, StoredCycle>();
  congestion = new Map<string, number>();
  /** The room's statistics, updated by each plan as the trigger does (never rebuilt). */
  histograms: CourseHistograms = EMPTY_HISTOGRAMS;
  status = IDLE_STATE;

  constructor(private readonly halfWindow = Number.POSITIVE_INFINITY) {}

  append(report: DeviceReport) {
    this.reports.set(report.id, report);
  }

  deliver(id: string) {
    const report = this.reports.get(id)!;
    if (this.recent.includes(id)) return;
    const newest = this.status.newestReportTs;
    const inOrder = newest === null || report.timestamp > newest;
    const all = [...this.reports.values()];
    const boundary = inOrder
      ? null
      : (all
          .filter((b) => isBoundary(b.status) && b.timestamp < report.timestamp)
          .sort(compareReports)
          .pop() ?? null);
    const full = inOrder
      ? []
      : (boundary ? all.filter((x) => x.timestamp >= boundary.timestamp) : all).sort(
          compareReports,
        );
    const cut = full.length > 2 * this.halfWindow;
    const oldest = cut ? full.slice(0, this.halfWindow) : full;
    const newestEnd = cut ? full.slice(-this.halfWindow) : [];
    const plan = planReport({
      machineId: "1",
      type: "washer",
      choice: null,
      firstStoredStartAfterChoice: null,
      previousCourse: null,
      report,
      stored: this.status,
      around: inOrder
        ? null
        : {
            boundary,
            window: [...oldest, ...newestEnd],
            gap: cut ? { from: oldest[oldest.length - 1], to: newestEnd[0] } : null,
            cycles: [...this.cycles.values()].filter(
              (c) => c.finishedAt > (boundary?.timestamp ?? 0) * 1000,
            ),
          },
      bounds: DEFAULT_CYCLE_BOUNDS,
    });
    this.recent = [...this.recent, id].slice(-12);
    this.status = plan.state;
    plan.deleteCycleIds.forEach((c) => this.cycles.delete(c));
    plan.upsertCycles.forEach((c) => this.cycles.set(c.id, c));
    for (const [k, v] of plan.congestion) this.congestion.set(k, (this.congestion.get(k) ?? 0) + v);
    for (const c of plan.counted.removed) this.histograms = addSample(this.histograms, c, -1);
    for (const c of plan.counted.added) this.histograms = addSample(this.histograms, c, 1);
  }

  outcome() {
    const cycles = [...this.cycles.values()].sort((a, b) => a.finishedAt - b.finishedAt);
    return {
      state: this.status,
      cycles,
      histograms: this.histograms,
      stats: courseStats("washer", "standard", this.histograms),
      congestion: [...this.congestion].filter(([, v]) => v !== 0).sort(),
    };
  }
}

const statusArb = fc.constantFrom<DeviceStatus>(
  "WASHING",
  "SPINNING",
  "FINISHED",
  "EXT_VIBE",
  "OFF",
  "WASHING",
  "SPINNING",
  "FINISHED",
);
const reportsArb = fc
  .array(fc.tuple(statusArb, fc.integer({ min: 1, max: 40 })), { minLength: 1, maxLength: 14 })
  .map((steps) => {
    let minute = 0;
    return steps.map(([status, gap]) => r(status, (minute += gap)));
  });

/** planReport's input for washer 1 with nothing stored before: no boundary, no cut, no choice. */
const freshInput = (
  window: DeviceReport[],
  report: DeviceReport,
  existing: StoredCycle[] = [],
) => ({
  machineId: "1",
  type: "washer" as const,
  choice: null,
  firstStoredStartAfterChoice: null,
  previousCourse: null,
  report,
  stored: IDLE_STATE,
  around: { boundary: null, window, gap: null, cycles: existing },
  bounds: DEFAULT_CYCLE_BOUNDS,
});

describe("implausible cycles", () => {
  const plan = (reports: DeviceReport[], report: DeviceReport, existing: StoredCycle[] = []) =>
    planReport(freshInput(reports, report, existing));

  it("stores a cycle from a clock stuck at 2020 as implausible and counts it in no statistics", () => {
    const washing: DeviceReport = {
      id: reportId(1577836800, "WASHING"),
      status: "WASHING",
      timestamp: 1577836800, // 2020-01-01
      magnitudes: null,
    };
    const finished = r("FINISHED", 0, { washAvg: 1, washMax: 2, spinMax: 3 });
    const p = plan([washing], finished);
    expect(p.upsertCycles).toHaveLength(1);
    expect(p.upsertCycles[0]?.implausible).toBe(true);
    expect(p.upsertCycles[0]?.totalMinutes).toBeGreaterThan(3_000_000);
    expect(p.congestion.size).toBe(0);
    expect(p.calibration).toEqual({ samples: 0, washAvgSum: 0, washMaxSum: 0, spinMaxSum: 0 });
  });

  it("bounds are per machine type: 4 hours is the washer's limit, a 3-minute cycle is too short", () => {
    const long = plan([r("WASHING", 0)], r("FINISHED", 241));
    expect(long.upsertCycles[0]?.implausible).toBe(true);
    const ok = plan([r("WASHING", 0)], r("FINISHED", 240));
    expect(ok.upsertCycles[0]?.implausible).toBe(false);
    expect(ok.congestion.size).toBeGreaterThan(0);
    const short = plan([r("WASHING", 0)], r("FINISHED", 3));
    expect(short.upsertCycles[0]?.implausible).toBe(true);
  });

  it("a late report that makes an implausible cycle plausible adds it to the statistics then", () => {
    const first = plan([r("WASHING", 0)], r("FINISHED", 300));
    const stored = first.upsertCycles;
    expect(stored[0]?.implausible).toBe(true);
    // A WASHING at minute 250 shows the cycle started late: 50 minutes.
    const amended = planReport(
      freshInput([r("WASHING", 0), r("FINISHED", 300), r("WASHING", 250)], r("OFF", 200), stored),
    );
    expect(amended.upsertCycles[0]).toMatchObject({ totalMinutes: 50, implausible: false });
    // Only the plausible version is counted: the implausible one was never added.
    expect([...amended.congestion.values()].every((v) => v === 1)).toBe(true);
  });
});

/** A long history: complete cycles (WASHING, SPINNING, FINISHED) with noise between. */
const historyArb = fc
  .array(
    fc.tuple(
      fc.integer({ min: 20, max: 60 }),
      fc.integer({ min: 5, max: 20 }),
      fc.integer({ min: 0, max: 3 }),
    ),
    { minLength: 4, maxLength: 12 },
  )
  .map((cycles) => {
    let minute = 600;
    const out: DeviceReport[] = [];
    for (const [wash, spin, vibes] of cycles) {
      out.push(r("WASHING", (minute += 30)));
      for (let v = 0; v < vibes; v++) out.push(r("EXT_VIBE", (minute += 1)));
      out.push(r("SPINNING", (minute += wash)));
      out.push(r("FINISHED", (minute += spin)));
    }
    return out;
  });

describe("property: a late report never touches cycles its fold cannot see", () => {
  it("over a history longer than the window, a report older than everything changes only the cycles in the window's oldest end", () => {
    fc.assert(
      fc.property(
        historyArb,
        statusArb,
        fc.integer({ min: 1, max: 500 }),
        (history, lateStatus, minutesBefore) => {
          const store = new MemoryStore(3);
          for (const rep of history) {
            store.append(rep);
            store.deliver(rep.id);
          }
          const before = new Map(store.cycles);
          const late = r(lateStatus, 600 - minutesBefore);
          store.append(late);
          store.deliver(late.id);

          // The late report's fold reads the 3 oldest reports: only cycles ending by then may change.
          const oldestEnd = [...store.reports.values()].sort(compareReports)[2];
          for (const [id, cycle] of before) {
            if (cycle.finishedAt <= oldestEnd.timestamp * 1000) continue;
            expect(store.cycles.get(id), `cycle ${id}`).toEqual(cycle);
          }
          expect([...store.cycles.keys()].filter((id) => !before.has(id))).toEqual(
            [...store.cycles.values()]
              .filter((c) => !before.has(c.id))
              .filter((c) => c.finishedAt <= oldestEnd.timestamp * 1000)
              .map((c) => c.id),
          );
          // …and the current state is what it was.
          expect(store.status).toEqual({
            ...inOrderState(history),
            newestReportTs: history[history.length - 1].timestamp,
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it("a new report after a cut window keeps what the unread middle said (a SPINNING among floods)", () => {
    const history: DeviceReport[] = [r("WASHING", 0)];
    for (let v = 1; v <= 8; v++) history.push(r("EXT_VIBE", v));
    history.push(r("SPINNING", 20));
    for (let v = 21; v <= 28; v++) history.push(r("EXT_VIBE", v));
    history.push(r("EXT_VIBE", 29), r("FINISHED", 30));
    const cut = new MemoryStore(3);
    const full = new MemoryStore();
    for (const rep of history) {
      for (const s of [cut, full]) {
        s.append(rep);
        s.deliver(rep.id);
      }
      expect(cut.status, rep.id).toEqual(full.status);
    }
    expect(cut.outcome()).toEqual(full.outcome());
    expect(cut.outcome().cycles[0]).toMatchObject({ washMinutes: 20, spinMinutes: 10 });
  });

  it("a late WASHING before 500+ stored reports deletes and rewrites no cycle (the reported data loss)", () => {
    const history: DeviceReport[] = [];
    let minute = 600;
    for (let c = 0; c < 170; c++) {
      history.push(r("WASHING", (minute += 20)), r("SPINNING", (minute += 30)));
      history.push(r("FINISHED", (minute += 10)));
    }
    const store = new MemoryStore(250);
    for (const rep of history) {
      store.append(rep);
      store.deliver(rep.id);
    }
    expect(store.cycles.size).toBe(170);
    const before = new Map(store.cycles);
    const late = r("WASHING", 0);
    store.append(late);
    store.deliver(late.id);
    // The late WASHING starts the first cycle earlier: that cycle (in the fold's view) changes.
    const first = history[2];
    const changed = [...store.cycles].filter(([id, c]) => before.get(id) !== c).map(([id]) => id);
    expect(changed).toEqual([`1-${first.timestamp}`]);
    expect(store.cycles.get(`1-${first.timestamp}`)?.startedAt).toBe(T0 * 1000);
    expect(store.cycles.size).toBe(170);
  });
});

/** The state after delivering `reports` in order with an unlimited window. */
function inOrderState(reports: readonly DeviceReport[]) {
  const s = new MemoryStore();
  for (const rep of reports) {
    s.append(rep);
    s.deliver(rep.id);
  }
  return s.status;
}

describe("property: delivery order and repetition do not matter", () => {
  it("any order or repetition of the same reports yields the state and statistics of in-order delivery", () => {
    fc.assert(
      fc.property(
        reportsArb,
        fc.func(fc.integer()),
        fc.array(fc.nat(), { maxLength: 10 }),
        (reports, shuffleKey, repeats) => {
          const inOrder = new MemoryStore();
          for (const rep of reports) {
            inOrder.append(rep);
            inOrder.deliver(rep.id);
          }

          // Arrival order: a deterministic shuffle, plus extra deliveries of some reports.
          const arrival = [...reports].sort(
            (a, b) => shuffleKey(a.id) - shuffleKey(b.id) || a.id.localeCompare(b.id),
          );
          const messy = new MemoryStore();
          for (const rep of arrival) {
            messy.append(rep);
            messy.deliver(rep.id);
          }
          for (const i of repeats) messy.deliver(arrival[i % arrival.length].id);

          expect(messy.outcome()).toEqual(inOrder.outcome());
          // The statistics kept update by update are those of the stored set of cycles.
          const counted = [...messy.cycles.values()].filter((c) => !c.implausible);
          expect(messy.histograms).toEqual(histogramsOf(counted));
        },
      ),
      { numRuns: 400 },
    );
  });
});
