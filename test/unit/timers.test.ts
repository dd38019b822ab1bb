import { describe, expect, it } from "vitest";
import type { CourseStats } from "../../functions/src/domain/stats";
import { MINUTE_MS } from "../../functions/src/domain/time";
import { tickKey, tickMinuteMs } from "../../functions/src/domain/tick";
import {
  type RoomTimers,
  type StatsLookup,
  type TimerMachine,
  roomTimers,
  timersChanged,
} from "../../functions/src/domain/timers";

const START = Date.UTC(2026, 10, 22, 1, 0, 0);
const noStats: StatsLookup = () => null;

function machine(over: Partial<TimerMachine> = {}): TimerMachine {
  return {
    machineId: "1",
    type: "washer",
    status: "WASHING",
    course: "표준",
    cycleStartedAt: START,
    spinStartedAt: null,
    ...over,
  };
}

const quick: CourseStats = {
  type: "washer",
  course: "quick",
  samples: 10,
  avgTotalMinutes: 30.5,
  avgWashMinutes: 22,
  avgSpinMinutes: 8,
  lowMinutes: 27,
  highMinutes: 34,
};

describe("roomTimers", () => {
  it("counts down from the expected end as minutes pass", () => {
    // No averages yet: a washer takes the default 50 minutes.
    const at = (min: number) => roomTimers([machine()], noStats, START + min * MINUTE_MS)["1"];
    expect(at(0)).toEqual({
      status: "WASHING",
      remainingMinutes: 50,
      expectedEndAt: START + 50 * MINUTE_MS,
      finishing: false,
    });
    expect(at(10)?.remainingMinutes).toBe(40);
    expect(at(49)?.remainingMinutes).toBe(1);
  });

  it("rounds part of a minute up, so 0 only shows once the end has passed", () => {
    const t = roomTimers([machine()], noStats, START + 49.5 * MINUTE_MS)["1"];
    expect(t).toMatchObject({ remainingMinutes: 1, finishing: false });
  });

  it("shows a cycle past its expected end as finishing with 0 minutes, never negative", () => {
    for (const late of [50, 51, 90, 600]) {
      const t = roomTimers([machine()], noStats, START + late * MINUTE_MS)["1"];
      expect(t).toMatchObject({ remainingMinutes: 0, finishing: true });
    }
  });

  it("uses the course averages of the machine's course, looked up by course key", () => {
    const asked: string[] = [];
    const statsFor: StatsLookup = (type, course) => {
      asked.push(`${type}/${course}`);
      return course === "quick" ? quick : null;
    };
    const t = roomTimers([machine({ course: " Quick " })], statsFor, START)["1"];
    expect(asked).toEqual(["washer/quick"]);
    expect(t?.expectedEndAt).toBe(START + 30.5 * MINUTE_MS);
    expect(t?.remainingMinutes).toBe(31);
  });

  it("follows the spin average during the final spin", () => {
    const spinAt = START + 25 * MINUTE_MS;
    const t = roomTimers(
      [machine({ status: "SPINNING", spinStartedAt: spinAt })],
      () => quick,
      spinAt + 2 * MINUTE_MS,
    )["1"];
    expect(t).toMatchObject({ status: "SPINNING", expectedEndAt: spinAt + 8 * MINUTE_MS });
    expect(t?.remainingMinutes).toBe(6);
  });

  it("keeps only running machines: an idle room has an empty map", () => {
    const idle = [
      machine({ machineId: "1", status: "FINISHED", cycleStartedAt: null }),
      machine({ machineId: "2", status: "OFF", cycleStartedAt: null }),
    ];
    expect(roomTimers(idle, noStats, START)).toEqual({});
    const mixed = [...idle, machine({ machineId: "5", type: "dryer", status: "DRYING" })];
    expect(Object.keys(roomTimers(mixed, noStats, START))).toEqual(["5"]);
  });

  it("falls back to the stored estimate when the cycle start is unknown, else leaves it out", () => {
    const stored = machine({ cycleStartedAt: null, expectedEndAt: START + 7 * MINUTE_MS });
    expect(roomTimers([stored], noStats, START)["1"]?.remainingMinutes).toBe(7);
    expect(roomTimers([machine({ cycleStartedAt: null })], noStats, START)).toEqual({});
  });
});

describe("timersChanged", () => {
  const now = START + 10 * MINUTE_MS;
  const timers = (): RoomTimers => roomTimers([machine()], noStats, now);

  it("sees no change in equal values held by different objects", () => {
    expect(timersChanged(timers(), timers())).toBe(false);
  });

  it("writes nothing for an idle room whose stored timers are already empty or missing", () => {
    expect(timersChanged({}, {})).toBe(false);
    expect(timersChanged(undefined, {})).toBe(false);
    expect(timersChanged(null, {})).toBe(false);
  });

  it("writes once to clear the timers when the last machine stops", () => {
    expect(timersChanged(timers(), {})).toBe(true);
  });

  it("writes when a minute passes, a machine starts, or a cycle turns to finishing", () => {
    const later = roomTimers([machine()], noStats, now + MINUTE_MS);
    expect(timersChanged(timers(), later)).toBe(true);
    const two = roomTimers([machine(), machine({ machineId: "2" })], noStats, now);
    expect(timersChanged(timers(), two)).toBe(true);
    const prev = { "1": { ...timers()["1"], finishing: true } };
    expect(timersChanged(prev, timers())).toBe(true);
  });

  it("does not write again within the same minute", () => {
    const a = roomTimers([machine()], noStats, now);
    const b = roomTimers([machine()], noStats, now + 30_000);
    expect(timersChanged(a, b)).toBe(false);
  });

  it("stops writing once a late cycle shows finishing", () => {
    const a = roomTimers([machine()], noStats, START + 60 * MINUTE_MS);
    const b = roomTimers([machine()], noStats, START + 61 * MINUTE_MS);
    expect(timersChanged(a, b)).toBe(false);
  });

  it("treats a stored timer missing a field (older document) as changed", () => {
    const t = timers()["1"];
    const old = {
      status: t?.status,
      remainingMinutes: t?.remainingMinutes,
      expectedEndAt: t?.expectedEndAt,
    };
    expect(timersChanged({ "1": old }, timers())).toBe(true);
  });

  it("compares by machine id, not by position", () => {
    const other = { "2": timers()["1"] };
    expect(timersChanged(other, timers())).toBe(true);
  });
});

describe("tickKey", () => {
  it("gives the same key to every run in the same minute, from ISO or epoch ms", () => {
    const at = Date.UTC(2026, 10, 22, 1, 55, 0);
    expect(tickKey("2026-11-22T01:55:00Z")).toBe("2026-11-22T01:55Z");
    expect(tickKey("2026-11-22T01:55:59.999Z")).toBe("2026-11-22T01:55Z");
    expect(tickKey("2026-11-22T10:55:30+09:00")).toBe("2026-11-22T01:55Z");
    expect(tickKey(at + 42_000)).toBe("2026-11-22T01:55Z");
    expect(tickMinuteMs(at + 42_000)).toBe(at);
  });

  it("gives the next minute a new key", () => {
    expect(tickKey("2026-11-22T01:56:00Z")).not.toBe(tickKey("2026-11-22T01:55:59Z"));
  });

  it("refuses an unreadable schedule time", () => {
    expect(() => tickKey("not a time")).toThrow(RangeError);
  });
});
