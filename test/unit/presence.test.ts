import { describe, expect, it } from "vitest";
import {
  DEFAULT_PRESENCE_LIMITS,
  type PresenceMachine,
  isSilent,
  offlineNoticeKey,
  presenceDecision,
  silenceLimitMs,
} from "../../functions/src/domain/presence";
import { HOUR_MS, MINUTE_MS } from "../../functions/src/domain/time";

const SEEN = Date.UTC(2026, 10, 22, 1, 0, 0);

function m(over: Partial<PresenceMachine> = {}): PresenceMachine {
  return { status: "WASHING", lastSeenAt: SEEN, online: true, ...over };
}

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

  it("applies configured limits, each defaulting on its own", () => {
    const limits = { runningMinutes: 3 };
    expect(presenceDecision(m(), SEEN + 3 * MINUTE_MS, limits)).toBe("goOffline");
    expect(presenceDecision(m({ status: "OFF" }), SEEN + 3 * MINUTE_MS, limits)).toBe("stayOnline");
    expect(silenceLimitMs("OFF", { idleMinutes: 60 })).toBe(HOUR_MS);
    expect(DEFAULT_PRESENCE_LIMITS).toEqual({ runningMinutes: 10, idleMinutes: 1440 });
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
    expect(isSilent(m({ lastSeenAt: SEEN + MINUTE_MS }), SEEN)).toBe(false);
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
