import { describe, expect, it } from "vitest";
import { dueAt, orderingKey } from "../../tools/stack/dispatcher";

describe("local dispatcher: schedules", () => {
  it("runs 'every N minutes' on the minutes divisible by N", () => {
    const due = dueAt("every 5 minutes", "Asia/Seoul");
    expect(due(new Date("2026-11-30T06:05:00Z"))).toBe(true);
    expect(due(new Date("2026-11-30T06:06:00Z"))).toBe(false);
  });

  it("runs a daily cron at its hour in the schedule's time zone (04:00 KST = 19:00 UTC)", () => {
    const due = dueAt("0 4 * * *", "Asia/Seoul");
    expect(due(new Date("2026-11-29T19:00:00Z"))).toBe(true);
    expect(due(new Date("2026-11-29T19:01:00Z"))).toBe(false);
    expect(due(new Date("2026-11-30T04:00:00Z"))).toBe(false);
  });

  it("refuses a schedule it cannot honour rather than never running it", () => {
    expect(() => dueAt("0 4 1 * *", "Asia/Seoul")).toThrow("not supported");
    expect(() => dueAt("every day 04:00", "Asia/Seoul")).toThrow("not supported");
  });
});

describe("local dispatcher: delivery order", () => {
  it("orders one machine's reports together and keeps machines and top-level documents apart", () => {
    const r1 = orderingKey("onReportCreated", "machines/1/reports/100-WASHING");
    expect(orderingKey("onReportCreated", "machines/1/reports/200-FINISHED")).toBe(r1);
    expect(orderingKey("onReportCreated", "machines/2/reports/100-WASHING")).not.toBe(r1);
    expect(orderingKey("onPushCreated", "pushes/a")).not.toBe(
      orderingKey("onPushCreated", "pushes/b"),
    );
    expect(orderingKey("onMachineWritten", "machines/1")).toBe(
      orderingKey("onMachineWritten", "machines/1"),
    );
  });
});
