import { describe, expect, it } from "vitest";
import {
  type FinishingSoonInput,
  type LaundryLeftInput,
  finishingSoonReminders,
  laundryLeftReminders,
  machineLabel,
  reminderText,
} from "../../functions/src/domain/reminders";
import { MINUTE_MS } from "../../functions/src/domain/time";

const START = Date.UTC(2026, 10, 22, 1, 0, 0);
const END = START + 50 * MINUTE_MS;
const DAY = 24 * 60 * MINUTE_MS;

function soon(over: Partial<FinishingSoonInput> = {}): FinishingSoonInput {
  return {
    machine: {
      machineId: "3",
      name: "세탁기 3",
      type: "washer",
      status: "WASHING",
      cycleStartedAt: START,
      expectedEndAt: END,
    },
    subscribers: ["alice", "bob"],
    now: END - 5 * MINUTE_MS,
    minutes: 5,
    ...over,
  };
}

const FINISHED = START + 48 * MINUTE_MS;

function left(over: Partial<LaundryLeftInput> = {}): LaundryLeftInput {
  return {
    machine: {
      machineId: "5",
      name: "건조기 5",
      type: "dryer",
      status: "FINISHED",
      finishedAt: FINISHED,
      cycleStartedAt: null,
    },
    recipients: ["alice"],
    now: FINISHED + 15 * MINUTE_MS,
    minutes: 15,
    ...over,
  };
}

describe("finishing-soon reminders", () => {
  it("reminds every subscriber once 5 minutes or less are left, in their language", () => {
    const r = finishingSoonReminders(soon());
    expect(r).toEqual([
      {
        key: `soon-3-${START}-alice`,
        kind: "finishingSoon",
        uid: "alice",
        machineId: "3",
        minutes: 5,
      },
      { key: `soon-3-${START}-bob`, kind: "finishingSoon", uid: "bob", machineId: "3", minutes: 5 },
    ]);
    const machine = soon().machine;
    expect(reminderText("finishingSoon", machine, 5, "ko")).toEqual({
      title: "곧 세탁이 끝나요",
      body: "세탁기 3 세탁이 5분 후 끝나요",
    });
    expect(reminderText("finishingSoon", machine, 5, "en")).toEqual({
      title: "Wash almost done",
      body: "Washer 3 finishes washing in 5 minutes",
    });
  });

  it("stays quiet while more than N minutes are left, and once the end has passed", () => {
    expect(finishingSoonReminders(soon({ now: END - 5 * MINUTE_MS - 1 }))).toEqual([]);
    expect(finishingSoonReminders(soon({ now: END }))).toEqual([]);
    expect(finishingSoonReminders(soon({ now: END + MINUTE_MS }))).toEqual([]);
  });

  it("uses the configured N and the minutes actually left", () => {
    const r = finishingSoonReminders(soon({ minutes: 10, now: END - 9.5 * MINUTE_MS }));
    expect(r.map((x) => x.minutes)).toEqual([10, 10]);
    expect(finishingSoonReminders(soon({ now: END - 2 * MINUTE_MS }))[0]?.minutes).toBe(2);
  });

  it("gives every tick of one cycle the same key, so a user is reminded once per cycle", () => {
    const keys = (now: number) => finishingSoonReminders(soon({ now })).map((x) => x.key);
    expect(keys(END - 4 * MINUTE_MS)).toEqual(keys(END - 2 * MINUTE_MS));
    const nextCycle = {
      ...soon().machine,
      cycleStartedAt: START + DAY,
      expectedEndAt: END + DAY,
    };
    const r = finishingSoonReminders(soon({ machine: nextCycle, now: END + DAY - MINUTE_MS }));
    expect(r[0]?.key).toBe(`soon-3-${START + DAY}-alice`);
  });

  it("gives a repeated tick the keys it already sent, so it sends nothing new", () => {
    const sent = finishingSoonReminders(soon()).map((x) => x.key);
    expect(finishingSoonReminders(soon()).map((x) => x.key)).toEqual(sent);
    expect(finishingSoonReminders(soon({ now: END - MINUTE_MS })).map((x) => x.key)).toEqual(sent);
  });

  it("reminds a user listed twice only once", () => {
    const r = finishingSoonReminders(soon({ subscribers: ["a", "a"] }));
    expect(r.map((x) => x.uid)).toEqual(["a"]);
  });

  it("says nothing for an idle machine or one without an estimate", () => {
    const idle = { ...soon().machine, status: "FINISHED" as const };
    expect(finishingSoonReminders(soon({ machine: idle }))).toEqual([]);
    const unknown = { ...soon().machine, expectedEndAt: null };
    expect(finishingSoonReminders(soon({ machine: unknown }))).toEqual([]);
  });

  it("words a dryer's reminder as drying", () => {
    const dryer = { ...soon().machine, machineId: "5", name: "건조기 5", type: "dryer" as const };
    const [r] = finishingSoonReminders(soon({ machine: { ...dryer, status: "DRYING" } }));
    expect(reminderText(r.kind, dryer, r.minutes, "ko").body).toBe("건조기 5 건조가 5분 후 끝나요");
    expect(reminderText(r.kind, dryer, r.minutes, "en").body).toBe(
      "Dryer 5 finishes drying in 5 minutes",
    );
  });
});

describe("laundry-left reminders", () => {
  it("reminds the starter and watchers 15 minutes after FINISHED", () => {
    const r = laundryLeftReminders(left({ recipients: ["alice", "bob"] }));
    expect(r.map((x) => [x.key, x.kind, x.minutes])).toEqual([
      [`leftover-5-${FINISHED}-alice`, "laundryLeft", 15],
      [`leftover-5-${FINISHED}-bob`, "laundryLeft", 15],
    ]);
    expect(reminderText(r[0].kind, left().machine, r[0].minutes, "ko")).toEqual({
      title: "건조된 옷을 꺼내 주세요",
      body: "건조기 5 건조가 15분 전에 끝났어요. 옷이 아직 안에 있어요",
    });
  });

  it("waits the full M minutes", () => {
    expect(laundryLeftReminders(left({ now: FINISHED + 15 * MINUTE_MS - 1 }))).toEqual([]);
    expect(laundryLeftReminders(left({ minutes: 20, now: FINISHED + 19 * MINUTE_MS }))).toEqual([]);
  });

  it("keeps one key per finished cycle and user however many ticks see it", () => {
    const a = laundryLeftReminders(left({ now: FINISHED + 16 * MINUTE_MS }));
    const b = laundryLeftReminders(left({ now: FINISHED + 30 * MINUTE_MS }));
    expect(a.map((x) => x.key)).toEqual(b.map((x) => x.key));
    const c = laundryLeftReminders(left({ now: FINISHED + 17 * MINUTE_MS }));
    expect(c.map((x) => x.key)).toEqual(a.map((x) => x.key));
  });

  it("says nothing once a new cycle has started on the machine", () => {
    const running = {
      ...left().machine,
      status: "DRYING" as const,
      cycleStartedAt: FINISHED + 10 * MINUTE_MS,
    };
    expect(laundryLeftReminders(left({ machine: running }))).toEqual([]);
    const startedAfter = {
      ...left().machine,
      status: "OFF" as const,
      cycleStartedAt: FINISHED + 1,
    };
    expect(laundryLeftReminders(left({ machine: startedAfter }))).toEqual([]);
  });

  it("still reminds when the machine was merely switched off after finishing", () => {
    const off = { ...left().machine, status: "OFF" as const };
    expect(laundryLeftReminders(left({ machine: off }))).toHaveLength(1);
  });

  it("gives up when the reminder is over an hour late (the tick was down)", () => {
    expect(laundryLeftReminders(left({ now: FINISHED + 74 * MINUTE_MS }))).toHaveLength(1);
    expect(laundryLeftReminders(left({ now: FINISHED + 75 * MINUTE_MS }))).toEqual([]);
    // With a later M, the hour counts from that M.
    expect(
      laundryLeftReminders(left({ now: FINISHED + 74 * MINUTE_MS, minutes: 20 })),
    ).toHaveLength(1);
    expect(laundryLeftReminders(left({ now: FINISHED + 80 * MINUTE_MS, minutes: 20 }))).toEqual([]);
  });

  it("says nothing for a machine that never finished a cycle", () => {
    expect(
      laundryLeftReminders(left({ machine: { ...left().machine, finishedAt: null } })),
    ).toEqual([]);
  });
});

describe("reminderText", () => {
  const washer = { name: "세탁기 3", type: "washer" as const };
  const dryer = { name: "건조기 5", type: "dryer" as const };

  it("words washers and dryers differently in Korean", () => {
    expect(reminderText("finishingSoon", washer, 5, "ko").body).toBe(
      "세탁기 3 세탁이 5분 후 끝나요",
    );
    expect(reminderText("finishingSoon", dryer, 5, "ko").body).toBe(
      "건조기 5 건조가 5분 후 끝나요",
    );
    expect(reminderText("laundryLeft", washer, 15, "ko")).toEqual({
      title: "세탁물을 꺼내 주세요",
      body: "세탁기 3 세탁이 15분 전에 끝났어요. 세탁물이 아직 안에 있어요",
    });
  });

  it("has English with a singular minute", () => {
    expect(reminderText("finishingSoon", washer, 1, "en").body).toBe(
      "Washer 3 finishes washing in 1 minute",
    );
    expect(reminderText("laundryLeft", dryer, 20, "en")).toEqual({
      title: "Clothes still in the dryer",
      body: "Dryer 5 finished drying 20 minutes ago. Your clothes are still inside",
    });
    expect(reminderText("laundryLeft", washer, 15, "en").title).toBe("Laundry still inside");
  });

  it("defaults to Korean", () => {
    expect(reminderText("finishingSoon", dryer, 3).title).toBe("곧 건조가 끝나요");
  });
});

describe("machineLabel", () => {
  it("puts the type word in the reader's language and names bare numbers", () => {
    expect(machineLabel({ name: "세탁기 3", type: "washer" }, "en")).toBe("Washer 3");
    expect(machineLabel({ name: "Dryer 5", type: "dryer" }, "ko")).toBe("건조기 5");
    expect(machineLabel({ name: "3", type: "washer" }, "ko")).toBe("세탁기 3");
    expect(machineLabel({ name: "", type: "dryer" }, "en")).toBe("Dryer");
  });

  it("keeps any other name as given", () => {
    expect(machineLabel({ name: "창가 쪽 세탁기", type: "washer" }, "en")).toBe("창가 쪽 세탁기");
  });
});
