import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type DeviceReport,
  IDLE_STATE,
  foldReports,
  reportId,
} from "../../functions/src/domain/cycle";
import { normalizeStatus } from "../../functions/src/domain/status";
import {
  type MachinePlan,
  type ModelMachine,
  type PlannedUpdate,
  mulberry32,
  planSimulation,
} from "../../tools/simulator/model";

// 2025-11-15T07:00:00Z, a fixed virtual start.
const START = 1763190000;

function room(washers: number, dryers: number): ModelMachine[] {
  return Array.from({ length: washers + dryers }, (_, i) => ({
    id: String(i + 1),
    type: i < washers ? "washer" : "dryer",
  }));
}

function updates(m: MachinePlan): PlannedUpdate[] {
  return m.events.filter((e): e is PlannedUpdate => e.kind === "update");
}

/** What the server stores: the status normalised for the machine type, repeats collapsed by id. */
function asStored(m: MachinePlan): DeviceReport[] {
  return updates(m).map((u) => {
    const status = normalizeStatus(m.machine.type, u.status);
    return {
      id: reportId(u.timestamp, status),
      status,
      timestamp: u.timestamp,
      magnitudes: u.magnitudes,
    };
  });
}

describe("mulberry32", () => {
  it("gives the same stream for the same seed and floats in [0, 1)", () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(new Set(xs).size).toBeGreaterThan(990);
  });
});

describe("planSimulation", () => {
  it("is deterministic for a seed and differs between seeds", () => {
    const opts = { machines: room(4, 2), startSec: START, spanMinutes: 12 * 60 };
    expect(planSimulation({ ...opts, seed: 7 })).toEqual(planSimulation({ ...opts, seed: 7 }));
    expect(planSimulation({ ...opts, seed: 8 }).machines[0].events).not.toEqual(
      planSimulation({ ...opts, seed: 7 }).machines[0].events,
    );
  });

  it("keeps a machine's timeline when other machines are added", () => {
    const opts = { startSec: START, spanMinutes: 600, seed: 3, silentMachines: 0 };
    const small = planSimulation({ ...opts, machines: room(2, 0) });
    const big = planSimulation({ ...opts, machines: room(2, 3) });
    expect(big.machines.slice(0, 2)).toEqual(small.machines);
  });

  it("puts every device timestamp and delivery inside the span", () => {
    const plan = planSimulation({
      machines: room(6, 3),
      startSec: START,
      spanMinutes: 24 * 60,
      seed: 11,
    });
    expect(plan.endSec).toBe(START + 24 * 3600);
    for (const m of plan.machines) {
      expect(m.events.length).toBeGreaterThan(0);
      for (const e of m.events) {
        expect(e.deliverAt).toBeGreaterThanOrEqual(plan.startSec);
        expect(e.deliverAt).toBeLessThanOrEqual(plan.endSec);
        if (e.kind === "update") {
          expect(e.timestamp).toBeGreaterThanOrEqual(plan.startSec);
          expect(e.timestamp).toBeLessThanOrEqual(plan.endSec);
          expect(Number.isInteger(e.timestamp)).toBe(true);
        }
      }
      const times = m.events.map((e) => e.deliverAt);
      expect(times).toEqual([...times].sort((a, b) => a - b));
    }
  });

  it("follows the cycle state machine: FINISHED only closes a running cycle of the right kind", () => {
    const plan = planSimulation({
      machines: room(8, 4),
      startSec: START,
      spanMinutes: 2 * 24 * 60,
      seed: 5,
    });
    for (const m of plan.machines) {
      const ordered = [...new Map(asStored(m).map((r) => [r.id, r])).values()].sort(
        (a, b) => a.timestamp - b.timestamp,
      );
      let running: string[] = [];
      for (const r of ordered) {
        if (r.status === "EXT_VIBE") continue;
        if (r.status === "FINISHED") {
          if (m.machine.type === "washer") {
            expect(running[0]).toBe("WASHING");
            expect(running[running.length - 1]).toBe("SPINNING");
          } else {
            expect(running.length).toBeGreaterThan(0);
            expect(running.every((s) => s === "DRYING")).toBe(true);
          }
          expect(r.magnitudes).not.toBeNull();
          running = [];
        } else {
          expect(r.magnitudes).toBeNull();
          running.push(r.status);
        }
      }
    }
  });

  it("sends magnitudes in the firmware's calibration ranges with every FINISHED", () => {
    const plan = planSimulation({
      machines: room(4, 2),
      startSec: START,
      spanMinutes: 24 * 60,
      seed: 9,
    });
    const finished = plan.machines
      .flatMap((m) => updates(m))
      .filter((u) => u.status === "FINISHED");
    expect(finished.length).toBeGreaterThan(20);
    for (const u of finished) {
      expect(u.magnitudes!.washAvg).toBeGreaterThanOrEqual(0.3);
      expect(u.magnitudes!.washAvg).toBeLessThanOrEqual(0.6);
      expect(u.magnitudes!.washMax).toBeGreaterThanOrEqual(1);
      expect(u.magnitudes!.washMax).toBeLessThanOrEqual(1.6);
      expect(u.magnitudes!.spinMax).toBeGreaterThanOrEqual(1.8);
      expect(u.magnitudes!.spinMax).toBeLessThanOrEqual(2.6);
    }
  });

  it("has realistic course lengths: washers about 30–60 min, dryers about 40–60 min", () => {
    const plan = planSimulation({
      machines: room(6, 3),
      startSec: START,
      spanMinutes: 3 * 24 * 60,
      seed: 2,
    });
    const cycles = plan.machines.flatMap((m) => m.cycles);
    for (const c of cycles.filter((c) => c.type === "washer")) {
      expect(c.totalMinutes).toBeGreaterThanOrEqual(20);
      expect(c.totalMinutes).toBeLessThanOrEqual(80);
      expect(c.spinMinutes).toBeGreaterThanOrEqual(3);
      expect(c.spinMinutes).toBeLessThanOrEqual(17);
    }
    for (const c of cycles.filter((c) => c.type === "dryer")) {
      expect(c.totalMinutes).toBeGreaterThanOrEqual(25);
      expect(c.totalMinutes).toBeLessThanOrEqual(90);
      expect(c.washMinutes).toBeNull();
      expect(c.spinMinutes).toBeNull();
    }
    const standard = cycles.filter((c) => c.course === "표준").map((c) => c.totalMinutes);
    const mean = standard.reduce((a, b) => a + b, 0) / standard.length;
    expect(mean).toBeGreaterThan(42);
    expect(mean).toBeLessThan(48);
  });

  it("ground-truth cycles equal the server's fold of the delivered reports, whatever the seed", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (seed) => {
        const plan = planSimulation({
          machines: room(3, 2),
          startSec: START,
          spanMinutes: 16 * 60,
          seed,
          duplicateRate: 0.1,
          outOfOrderRate: 0.1,
          silentMachines: 1,
        });
        for (const m of plan.machines) {
          const { state, cycles } = foldReports(
            m.machine.id,
            m.machine.type,
            IDLE_STATE,
            asStored(m),
          );
          expect(m.cycles.map(({ course: _course, ...c }) => c)).toEqual(cycles);
          expect(state.status).toBe(m.finalStatus ?? IDLE_STATE.status);
        }
      }),
      { numRuns: 60 },
    );
  });

  it("reports that go out of order arrive after a newer one, and the fold does not care", () => {
    const plan = planSimulation({
      machines: room(4, 2),
      startSec: START,
      spanMinutes: 24 * 60,
      seed: 21,
      outOfOrderRate: 0.2,
    });
    let late = 0;
    for (const m of plan.machines) {
      const us = updates(m).filter((u) => !u.duplicate);
      us.forEach((u, i) => {
        if (!u.outOfOrder) return;
        late++;
        expect(us[i - 1].timestamp).toBeGreaterThan(u.timestamp);
      });
    }
    expect(late).toBeGreaterThan(10);
  });

  it("produces duplicates and out-of-order deliveries at about the configured rates", () => {
    const plan = planSimulation({
      machines: room(30, 15),
      startSec: START,
      spanMinutes: 3 * 24 * 60,
      seed: 99,
      duplicateRate: 0.1,
      outOfOrderRate: 0.05,
      silentMachines: 0,
    });
    const all = plan.machines.flatMap((m) => updates(m));
    const originals = all.filter((u) => !u.duplicate);
    expect(originals.length).toBeGreaterThan(3000);
    const dupRate = (all.length - originals.length) / originals.length;
    const oooRate = originals.filter((u) => u.outOfOrder).length / originals.length;
    expect(dupRate).toBeGreaterThan(0.08);
    expect(dupRate).toBeLessThan(0.12);
    // A swapped pair is skipped for the next draw, so the measured rate sits a little below.
    expect(oooRate).toBeGreaterThan(0.035);
    expect(oooRate).toBeLessThan(0.06);
    // A duplicate is the same report, byte for byte, and comes after the original.
    for (const m of plan.machines) {
      const us = updates(m);
      us.forEach((u, i) => {
        if (!u.duplicate) return;
        const original = us
          .slice(0, i)
          .find((o) => !o.duplicate && o.timestamp === u.timestamp && o.status === u.status);
        expect(original).toBeDefined();
        expect({ ...original, duplicate: true, deliverAt: 0, outOfOrder: false }).toEqual({
          ...u,
          deliverAt: 0,
          outOfOrder: false,
        });
      });
    }
  });

  it("sends no duplicates or late reports when the rates are zero", () => {
    const plan = planSimulation({
      machines: room(4, 2),
      startSec: START,
      spanMinutes: 24 * 60,
      seed: 4,
      duplicateRate: 0,
      outOfOrderRate: 0,
    });
    const all = plan.machines.flatMap((m) => updates(m));
    expect(all.some((u) => u.duplicate || u.outOfOrder)).toBe(false);
  });

  it("silent machines send nothing after their silence point and finish no cycle after it", () => {
    const plan = planSimulation({
      machines: room(6, 4),
      startSec: START,
      spanMinutes: 24 * 60,
      seed: 13,
      silentMachines: 3,
    });
    const silent = plan.machines.filter((m) => m.silentFrom !== null);
    expect(silent).toHaveLength(3);
    for (const m of silent) {
      const from = m.silentFrom!;
      expect(from).toBeGreaterThan(plan.startSec);
      expect(from).toBeLessThan(plan.endSec);
      for (const e of m.events) {
        expect(e.deliverAt).toBeLessThanOrEqual(from);
        if (e.kind === "update") expect(e.timestamp).toBeLessThanOrEqual(from);
      }
      for (const c of m.cycles) expect(c.finishedAt).toBeLessThanOrEqual(from * 1000);
    }
    const talking = plan.machines.filter((m) => m.silentFrom === null);
    expect(talking.every((m) => m.events[m.events.length - 1].deliverAt > plan.endSec - 3600)).toBe(
      true,
    );
  });

  it("sends heartbeats every few virtual minutes, or none when asked", () => {
    const opts = {
      machines: room(2, 1),
      startSec: START,
      spanMinutes: 6 * 60,
      seed: 1,
      silentMachines: 0,
    };
    for (const m of planSimulation({ ...opts, heartbeatMinutes: 5 }).machines) {
      const beats = m.events.filter((e) => e.kind === "heartbeat");
      expect(beats.length).toBeGreaterThanOrEqual(60);
      expect(beats.length).toBeLessThanOrEqual(90);
      for (const b of beats) {
        expect(b.battery).toBeGreaterThanOrEqual(0);
        expect(b.battery).toBeLessThanOrEqual(100);
      }
    }
    for (const m of planSimulation({ ...opts, heartbeatMinutes: 0 }).machines) {
      expect(m.events.some((e) => e.kind === "heartbeat")).toBe(false);
    }
  });

  it("lets some dryers speak legacy firmware (WASHING/SPINNING), which the server stores as DRYING", () => {
    const plan = planSimulation({
      machines: room(0, 8),
      startSec: START,
      spanMinutes: 24 * 60,
      seed: 17,
      legacyDryerFirmwareRate: 0.5,
    });
    const legacy = plan.machines.filter((m) => m.legacyDryerFirmware);
    expect(legacy.length).toBeGreaterThan(0);
    for (const m of legacy) {
      expect(updates(m).some((u) => u.status === "WASHING")).toBe(true);
      expect(updates(m).some((u) => u.status === "DRYING")).toBe(false);
    }
    for (const m of plan.machines.filter((m) => !m.legacyDryerFirmware)) {
      expect(updates(m).some((u) => u.status === "WASHING" || u.status === "SPINNING")).toBe(false);
    }
  });

  it("includes occasional EXT_VIBE bumps between cycles", () => {
    const plan = planSimulation({
      machines: room(4, 2),
      startSec: START,
      spanMinutes: 2 * 24 * 60,
      seed: 8,
    });
    const bumps = plan.machines.flatMap((m) => updates(m)).filter((u) => u.status === "EXT_VIBE");
    expect(bumps.length).toBeGreaterThan(0);
  });
});
