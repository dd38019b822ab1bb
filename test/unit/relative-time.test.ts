import { describe, expect, it } from "vitest";
import { relativeTime } from "../../functions/src/domain/relativeTime";
import { DAY_MS, HOUR_MS, MINUTE_MS } from "../../functions/src/domain/time";

const NOW = Date.UTC(2026, 10, 22, 3, 0, 0);
const ago = (ms: number, locale: "ko" | "en") => relativeTime(NOW - ms, NOW, locale);

describe("relativeTime", () => {
  it("says 방금 전 / just now under a minute", () => {
    for (const ms of [0, 1000, 59_999]) {
      expect(ago(ms, "ko")).toBe("방금 전");
      expect(ago(ms, "en")).toBe("just now");
    }
  });

  it("counts whole minutes under an hour, rounded down", () => {
    expect(ago(MINUTE_MS, "ko")).toBe("1분 전");
    expect(ago(119_999, "ko")).toBe("1분 전");
    expect(ago(59 * MINUTE_MS + 59_999, "ko")).toBe("59분 전");
    expect(ago(MINUTE_MS, "en")).toBe("1 minute ago");
    expect(ago(5 * MINUTE_MS, "en")).toBe("5 minutes ago");
  });

  it("counts whole hours under a day", () => {
    expect(ago(HOUR_MS, "ko")).toBe("1시간 전");
    expect(ago(23 * HOUR_MS + 59 * MINUTE_MS, "ko")).toBe("23시간 전");
    expect(ago(HOUR_MS, "en")).toBe("1 hour ago");
    expect(ago(3 * HOUR_MS, "en")).toBe("3 hours ago");
  });

  it("counts whole days beyond that", () => {
    expect(ago(DAY_MS, "ko")).toBe("1일 전");
    expect(ago(45 * DAY_MS, "ko")).toBe("45일 전");
    expect(ago(DAY_MS, "en")).toBe("1 day ago");
    expect(ago(2 * DAY_MS + HOUR_MS, "en")).toBe("2 days ago");
  });

  it("reads a time in the future as just now", () => {
    expect(relativeTime(NOW + 5 * MINUTE_MS, NOW, "ko")).toBe("방금 전");
    expect(relativeTime(NOW + DAY_MS, NOW, "en")).toBe("just now");
  });

  it("speaks Korean unless asked otherwise", () => {
    expect(relativeTime(NOW - 2 * HOUR_MS, NOW)).toBe("2시간 전");
  });
});
