import { describe, expect, it } from "vitest";
import * as presence from "../../functions/src/domain/presence";
import {
  DEFAULT_PRESENCE_LIMITS,
  type PresenceLimits,
  type PresenceMachine,
  offlineNoticeKey,
  sendsLiveness,
} from "../../functions/src/domain/presence";
import { HOUR_MS, MINUTE_MS } from "../../functions/src/domain/time";

const SEEN = Date.UTC(2026, 10, 22, 1, 0, 0);

/** The rules with the default limits but those given (as the tick passes its settings). */
const presenceDecision = (
  machine: PresenceMachine,
  now: number,
  over: Partial<PresenceLimits> = {},
) => presence.presenceDecision(machine, now, { ...DEFAULT_PRESENCE_LIMITS, ...over });
const silentFrom = (machine: PresenceMachine, over: Partial<PresenceLimits> = {}) =>
  presence.silentFrom(machine, { ...DEFAULT_PRESENCE_LIMITS, ...over });

/** A board that streams liveness (raw_data or heartbeats) during its cycle, started at SEEN. */
function m(over: Partial<PresenceMachine> = {}): PresenceMachine {
  return {
    status: "WASHING",
    lastSeenAt: SEEN,
    online: true,
    pingAt: SEEN,
    cycleStartedAt: SEEN,
    ...over,
  };
}

/** A board that reports only state changes (WashCall_Main without raw_data). */
function reportOnly(over: Partial<PresenceMachine> = {}): PresenceMachine {
  return m({ pingAt: null, ...over });
}

describe("presenceDecision for a board that reports only state changes", () => {
  it("keeps it online through a silent 40-minute wash phase, until 30 minutes past the expected end", () => {
    const machine = reportOnly({ expectedEndAt: SEEN + 60 * MINUTE_MS });
    expect(presenceDecision(machine, SEEN + 40 * MINUTE_MS)).toBe("stayOnline");
    expect(presenceDecision(machine, SEEN + 89 * MINUTE_MS)).toBe("stayOnline");
    expect(presenceDecision(machine, SEEN + 90 * MINUTE_MS)).toBe("goOffline");
  });

  it("without an expected end, allows 3 hours from the cycle's start plus the margin", () => {
    const machine = reportOnly({ expectedEndAt: null });
    expect(presenceDecision(machine, SEEN + 209 * MINUTE_MS)).toBe("stayOnline");
    expect(presenceDecision(machine, SEEN + 210 * MINUTE_MS)).toBe("goOffline");
  });

  it("never counts it silent sooner than the running limit after its last report", () => {
    const late = reportOnly({
      expectedEndAt: SEEN,
      lastSeenAt: SEEN + 60 * MINUTE_MS,
    });
    expect(presenceDecision(late, SEEN + 69 * MINUTE_MS)).toBe("stayOnline");
    expect(presenceDecision(late, SEEN + 70 * MINUTE_MS)).toBe("goOffline");
  });

  it("treats liveness traffic from before this cycle as not streaming now", () => {
    const machine = reportOnly({
      pingAt: SEEN - 5 * MINUTE_MS,
      expectedEndAt: SEEN + 60 * MINUTE_MS,
    });
    expect(sendsLiveness(machine)).toBe(false);
    expect(presenceDecision(machine, SEEN + 30 * MINUTE_MS)).toBe("stayOnline");
  });

  it("uses a configured margin", () => {
    const machine = reportOnly({ expectedEndAt: SEEN + 60 * MINUTE_MS });
    const limits = { reportOnlyMarginMinutes: 5 };
    expect(presenceDecision(machine, SEEN + 64 * MINUTE_MS, limits)).toBe("stayOnline");
    expect(presenceDecision(machine, SEEN + 65 * MINUTE_MS, limits)).toBe("goOffline");
  });
});

describe("presenceDecision", () => {
  it("keeps a running machine online until 10 minutes of silence, then takes it offline", () => {
    expect(presenceDecision(m(), SEEN + 9 * MINUTE_MS + 59_999)).toBe("stayOnline");
    expect(presenceDecision(m(), SEEN + 10 * MINUTE_MS)).toBe("goOffline");
  });

  it("gives an idle machine 24 hours", () => {
    for (const status of ["FINISHED", "OFF"] as const) {
      expect(presenceDecision(m({ status }), SEEN + 23 * HOUR_MS)).toBe("stayOnline");
      expect(presenceDecision(m({ status }), SEEN + 24 * HOUR_MS)).toBe("goOffline");
    }
  });

  it("applies configured limits", () => {
    const limits = { runningMinutes: 3 };
    expect(presenceDecision(m(), SEEN + 3 * MINUTE_MS, limits)).toBe("goOffline");
    expect(presenceDecision(m({ status: "OFF" }), SEEN + 3 * MINUTE_MS, limits)).toBe("stayOnline");
    expect(silentFrom(m({ status: "OFF" }), { idleMinutes: 60 })).toBe(SEEN + HOUR_MS);
    expect(DEFAULT_PRESENCE_LIMITS).toEqual({
      runningMinutes: 10,
      idleMinutes: 1440,
      reportOnlyMarginMinutes: 30,
      unknownEndMinutes: 180,
    });
  });

  it("does nothing more for a machine already offline and still silent", () => {
    const off = m({ online: false });
    expect(presenceDecision(off, SEEN + 11 * MINUTE_MS)).toBe("alreadyOffline");
    expect(presenceDecision(off, SEEN + 5 * HOUR_MS)).toBe("alreadyOffline");
  });

  it("brings a machine flagged offline back once it has been heard from again", () => {
    const reported = m({ online: false, lastSeenAt: SEEN + 20 * MINUTE_MS });
    expect(presenceDecision(reported, SEEN + 21 * MINUTE_MS)).toBe("backOnline");
  });

  it("counts a machine never heard from as silent", () => {
    expect(presenceDecision(m({ lastSeenAt: null }), SEEN)).toBe("goOffline");
    expect(presenceDecision(m({ lastSeenAt: null, online: false }), SEEN)).toBe("alreadyOffline");
  });

  it("treats a last-seen time in the future (device clock ahead) as fresh", () => {
    expect(presenceDecision(m({ lastSeenAt: SEEN + MINUTE_MS }), SEEN)).toBe("stayOnline");
  });

  it("flips offline after the limit and back on a report, across ticks on a fixed clock", () => {
    let machine = m();
    const decisions: string[] = [];
    for (let min = 1; min <= 14; min++) {
      const now = SEEN + min * MINUTE_MS;
      if (min === 13) machine = { ...machine, lastSeenAt: now }; // a report arrives
      const d = presenceDecision(machine, now);
      decisions.push(d);
      if (d === "goOffline") machine = { ...machine, online: false };
      if (d === "backOnline") machine = { ...machine, online: true };
    }
    expect(decisions).toEqual([
      ...Array<string>(9).fill("stayOnline"),
      "goOffline",
      "alreadyOffline",
      "alreadyOffline",
      "backOnline",
      "stayOnline",
    ]);
  });
});

describe("offlineNoticeKey", () => {
  it("is the same on every tick of one outage, so admins get one notice", () => {
    expect(offlineNoticeKey("5", SEEN)).toBe(offlineNoticeKey("5", SEEN));
    expect(offlineNoticeKey("5", SEEN)).toBe(`offline-5-${SEEN}`);
  });

  it("differs for the next outage and for another machine", () => {
    expect(offlineNoticeKey("5", SEEN + HOUR_MS)).not.toBe(offlineNoticeKey("5", SEEN));
    expect(offlineNoticeKey("6", SEEN)).not.toBe(offlineNoticeKey("5", SEEN));
  });

  it("has a key for a machine never heard from", () => {
    expect(offlineNoticeKey("5", null)).toBe("offline-5-never");
  });
});
