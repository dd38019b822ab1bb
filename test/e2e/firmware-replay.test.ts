/**
 * Replay of the real clients against the local stack: a washer and a dryer running the
 * WashCall_Main firmware model (test/e2e/firmware.ts: state changes only, a raw sample every
 * second without a secret, `machine_type: "washer"` on both, one fleet-wide secret, no heartbeat,
 * no retries), and residents using the seed PWA's calls (WashCall-Web's js/server-api.js).
 *
 * The expected cycles and congestion grid are computed here from the reports the boards sent,
 * following the contract (DESIGN.md, "Behaviour"), not with the server's code.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type TestUser, bearer, signUpAdmin, signUpUser } from "../support/auth";
import {
  DRYER_RUN,
  FLEET_SECRET,
  type Phase,
  QUICK_WASH,
  STANDARD_WASH,
  WashCallBoard,
} from "./firmware";
import { type E2eStack, callApi, docsOf, resetStack, startE2eStack } from "./support";

let e: E2eStack;
let admin: TestUser;
let alice: TestUser;
let bob: TestUser;

/**
 * The replay runs the boards' clocks as fast as the stack answers (a local request can take well
 * under a millisecond), far faster than the wall clock the rate limits count in, so the stack
 * gets limits no replay can reach (they are params; the limiter itself is pinned by
 * test/integration/device.test.ts on a fixed clock).
 */
const TIME_COMPRESSED_LIMITS = {
  DEVICE_REQUESTS_PER_SECOND: "1000000000",
  DEVICE_RAW_DATA_PER_SECOND: "1000000000",
};

beforeAll(async () => {
  Object.assign(process.env, TIME_COMPRESSED_LIMITS);
  e = await startE2eStack();
  admin = await signUpAdmin("replay-admin");
  alice = await signUpUser("replay-alice");
  bob = await signUpUser("replay-bob");
});

afterAll(async () => {
  await e?.stop();
  for (const k of Object.keys(TIME_COMPRESSED_LIMITS)) delete process.env[k];
});

beforeEach(async () => {
  await resetStack(e);
});

/** What the PWA's fetch sends: JSON content type, the ngrok header, the token, maybe no body. */
async function pwa(
  user: TestUser,
  method: "GET" | "POST",
  route: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${e.stack.apiUrl}${route}`, {
    method,
    headers: {
      "content-type": "application/json",
      "ngrok-skip-browser-warning": "true",
      ...bearer(user),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

interface MachineRow {
  machine_id: number;
  machine_name: string;
  machine_type: string;
  status: string;
  isusing: number;
  timer: number | null;
  elapsed_time_minutes: number | null;
  avg_minutes: number | null;
}

/** getInitialMachines(): POST /load without a body, reading `machine_list`. */
async function loadAs(user: TestUser): Promise<Map<number, MachineRow>> {
  const res = await pwa(user, "POST", "/load");
  expect(res.status).toBe(200);
  const list = res.body.machine_list as MachineRow[];
  return new Map(list.map((m) => [m.machine_id, m]));
}

/** The board's phases up to (not including) its final quiet stretch, and that stretch. */
function splitTail(phases: readonly Phase[]): [Phase[], Phase[]] {
  return [phases.slice(0, -1), phases.slice(-1)];
}

interface ExpectedCycle {
  machineId: number;
  startedAt: number;
  spinStartedAt: number | null;
  finishedAt: number;
}

/**
 * The contract's cycle rule applied to what a board sent: WASHING or SPINNING on an idle machine
 * starts a cycle; WASHING → SPINNING marks the (final) spin; FINISHED closes the cycle.
 */
function expectedCycles(machineId: number, reports: Record<string, unknown>[]): ExpectedCycle[] {
  const cycles: ExpectedCycle[] = [];
  let start: number | null = null;
  let spin: number | null = null;
  let last = "OFF";
  for (const r of reports) {
    const ts = r.timestamp as number;
    const status = r.status as string;
    if (status === "WASHING" || status === "SPINNING") {
      if (start === null) {
        start = ts;
        spin = status === "SPINNING" ? ts : null;
      } else if (status === "SPINNING" && last !== "SPINNING") {
        spin = ts;
      }
    } else if (status === "FINISHED" && start !== null) {
      cycles.push({ machineId, startedAt: start, spinStartedAt: spin, finishedAt: ts });
      start = null;
      spin = null;
    }
    last = status;
  }
  return cycles;
}

const KST_WEEKDAYS = ["월", "화", "수", "목", "금", "토", "일"];

/** +1 in every KST (UTC+9) weekday × hour cell a cycle spanned. */
function expectedCongestion(cycles: readonly ExpectedCycle[]): Record<string, number[]> {
  const table: Record<string, number[]> = {};
  for (const d of KST_WEEKDAYS) table[d] = new Array<number>(24).fill(0);
  for (const c of cycles) {
    const startHour = Math.floor((c.startedAt + 9 * 3600) / 3600);
    const endHour = Math.ceil((c.finishedAt + 9 * 3600) / 3600);
    for (let h = startHour; h < endHour; h++) {
      const kst = new Date(h * 3600 * 1000);
      const weekday = KST_WEEKDAYS[(kst.getUTCDay() + 6) % 7];
      table[weekday][kst.getUTCHours()] += 1;
    }
  }
  return table;
}

const minutes = (fromS: number, toS: number) => Math.round((toS - fromS) / 60);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe("WashCall_Main boards and the seed PWA against the local stack", () => {
  it("a washer and a dryer end with the right cycles, statistics and one notification per watcher, never a 4xx and never offline mid-cycle", async () => {
    // The admin gives both machines the secret their firmware already carries.
    for (const machine_id of [1, 5]) {
      const res = await pwa(admin, "POST", "/admin/rotate_device_secret", {
        machine_id,
        secret_key: FLEET_SECRET,
      });
      expect(res.status).toBe(200);
      expect((res.body.warnings as string[]).join(" ")).toContain("published in firmware");
    }

    // Residents, as the PWA does it: alice watches washer 1 and picks a course; bob subscribes.
    expect((await pwa(alice, "POST", "/set_fcm_token", { fcm_token: "alice-token" })).status).toBe(
      200,
    );
    expect((await pwa(bob, "POST", "/set_fcm_token", { fcm_token: "bob-token" })).status).toBe(200);
    expect((await loadAs(alice)).get(1)).toMatchObject({ status: "OFF", isusing: 0 });
    expect((await pwa(alice, "POST", "/notify_me", { machine_id: 1, isusing: 1 })).status).toBe(
      200,
    );
    expect(
      (await pwa(alice, "POST", "/start_course", { machine_id: 1, course_name: "표준" })).status,
    ).toBe(200);
    expect((await pwa(bob, "POST", "/device_subscribe", { room_id: 1 })).status).toBe(200);
    expect((await loadAs(alice)).get(1)?.isusing).toBe(1);

    // The boards, on their own clocks, four hours ago.
    const t0 = Math.floor(Date.now() / 1000) - 4 * 3600;
    const washer = new WashCallBoard(e.stack.deviceUrl, 1, t0, 1);
    const dryer = new WashCallBoard(e.stack.deviceUrl, 5, t0 + 600, 2);
    const [washBody, washTail] = splitTail(STANDARD_WASH);
    const [dryBody, dryTail] = splitTail(DRYER_RUN);
    await Promise.all([washer.run(washBody), dryer.run(dryBody)]);

    // Mid-cycle: both boards have gone quiet for a moment (the finish timer runs); the tick
    // must not call them offline, and the PWA shows them running.
    await e.stack.dispatcher.idle();
    await e.stack.dispatcher.runSchedulesAt(new Date());
    await e.stack.dispatcher.idle();
    const mid = await docsOf(e.db.collection("machines"));
    expect(mid.get("1")).toMatchObject({ online: true, status: "SPINNING" });
    expect(mid.get("5")).toMatchObject({ online: true, status: "DRYING", type: "dryer" });
    const midView = await loadAs(bob);
    expect(midView.get(1)?.status).toBe("SPINNING");
    expect(midView.get(5)?.status).toBe("DRYING");

    await Promise.all([washer.run(washTail), dryer.run(dryTail)]);
    washer.clock += 20 * 60; // the machine stands idle, then a second, quick wash
    await washer.run(QUICK_WASH);
    await e.stack.dispatcher.idle();
    await e.stack.dispatcher.runSchedulesAt(new Date());
    await e.stack.dispatcher.idle();

    // No legitimate request was refused.
    const all = [...washer.sent, ...dryer.sent];
    expect(all.filter((r) => r.status !== 200)).toEqual([]);
    expect(all.filter((r) => r.path === "/raw_data").length).toBeGreaterThan(7000);
    expect(washer.reports().map((r) => r.status)).toEqual([
      "WASHING",
      "SPINNING",
      "WASHING",
      "SPINNING",
      "FINISHED",
      "WASHING",
      "SPINNING",
      "FINISHED",
    ]);
    expect(dryer.reports().map((r) => r.status)).toEqual(["WASHING", "FINISHED"]);

    // Cycles, exactly as the boards' reports say.
    const expected = [
      ...expectedCycles(1, washer.reports()),
      ...expectedCycles(5, dryer.reports()),
    ];
    expect(expected).toHaveLength(3);
    const stored = await docsOf(e.db.collection("cycles"));
    expect(stored.size).toBe(3);
    for (const c of expected) {
      const doc = stored.get(`${c.machineId}-${c.finishedAt}`);
      expect(doc, `cycle of machine ${c.machineId} finished at ${c.finishedAt}`).toBeDefined();
      const washerCycle = c.machineId === 1;
      expect(doc).toMatchObject({
        machineId: String(c.machineId),
        roomId: "1",
        totalMinutes: minutes(c.startedAt, c.finishedAt),
        washMinutes: washerCycle ? minutes(c.startedAt, c.spinStartedAt ?? c.finishedAt) : null,
        spinMinutes: washerCycle ? minutes(c.spinStartedAt ?? c.finishedAt, c.finishedAt) : null,
      });
      expect(doc?.startedAt.toMillis()).toBe(c.startedAt * 1000);
    }

    // The dryer kept its registered type; the firmware's claim is on record for admins.
    const machines = await docsOf(e.db.collection("machines"));
    expect(machines.get("5")).toMatchObject({
      type: "dryer",
      status: "FINISHED",
      online: true,
      reportedType: { type: "washer" },
    });
    expect(machines.get("1")).toMatchObject({ status: "FINISHED", online: true });

    // Congestion, as the PWA's congestion page reads it.
    const congestion = await callApi(e, bob, "GET", "/statistics/congestion?room_id=1");
    expect(congestion).toEqual(expectedCongestion(expected));

    // Thresholds from the FINISHED magnitudes the washer sent (the seed's /device_update).
    const finished = washer.reports().filter((r) => r.status === "FINISHED");
    const thresholds = await fetch(`${e.stack.deviceUrl}/device_update`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ machine_id: 1, secret_key: FLEET_SECRET }),
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, number> }));
    expect(thresholds.status).toBe(200);
    expect(thresholds.body.NewWashThreshold).toBeCloseTo(
      mean(finished.map((r) => r.wash_avg_magnitude as number)) * 0.7,
      2,
    );
    expect(thresholds.body.NewSpinThreshold).toBeCloseTo(
      (mean(finished.map((r) => r.wash_max_magnitude as number)) +
        mean(finished.map((r) => r.spin_max_magnitude as number))) /
        2,
      2,
    );

    // Notifications: alice's one-shot watch fired once (the first wash), bob's room
    // subscription once per FINISHED; one push per token each.
    const inbox = async (u: TestUser) =>
      [...(await docsOf(e.db.collection(`users/${u.uid}/notifications`))).values()].map(
        (n) => n.machineId as string,
      );
    expect(await inbox(alice)).toEqual(["1"]);
    expect((await inbox(bob)).sort()).toEqual(["1", "1", "5"]);
    const pushes = async (u: TestUser) =>
      [...(await docsOf(e.db.collection("outbox").where("uid", "==", u.uid))).values()].map(
        (m) => m.token as string,
      );
    expect(await pushes(alice)).toEqual(["alice-token"]);
    expect(await pushes(bob)).toEqual(["bob-token", "bob-token", "bob-token"]);

    // The PWA after the day: the watch is spent, the tip and the survey work.
    const after = await loadAs(alice);
    expect(after.get(1)).toMatchObject({ status: "FINISHED", isusing: 0, machine_type: "washer" });
    expect(after.get(5)).toMatchObject({ status: "FINISHED", machine_type: "dryer" });
    const tip = await pwa(alice, "GET", "/tip");
    expect(tip.status).toBe(200);
    expect(typeof tip.body.tip_message).toBe("string");
    expect((tip.body.tip_message as string).length).toBeGreaterThan(0);
    expect((await pwa(alice, "POST", "/survey", { satisfaction: 5, suggestion: "" })).status).toBe(
      200,
    );
    expect(e.deliveryErrors).toEqual([]);
  }, 120_000); // two boards replayed minute by minute: ~25 s alone, more beside a second suite

  it("keeps a board that sends no raw samples online through a silent wash, until 30 minutes past its expected end", async () => {
    const now = Date.now();
    const report = await fetch(`${e.stack.deviceUrl}/update`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        machine_id: 2,
        secret_key: "demo-secret-2",
        status: "WASHING",
        machine_type: "washer",
        timestamp: Math.floor(now / 1000),
        battery: 100,
      }),
    });
    expect(report.status).toBe(200);
    await e.stack.dispatcher.idle();
    const high = (
      (await e.db.doc("machines/2").get()).get("expectedEndRange") as {
        high: FirebaseFirestore.Timestamp;
      }
    ).high.toMillis();

    const onlineAt = async (at: number) => {
      await e.stack.dispatcher.runSchedulesAt(new Date(at));
      await e.stack.dispatcher.idle();
      return (await e.db.doc("machines/2").get()).get("online") as boolean;
    };
    expect(await onlineAt(now + 12 * 60_000)).toBe(true);
    expect(await onlineAt(now + 40 * 60_000)).toBe(true);
    expect(await onlineAt(high + 29 * 60_000)).toBe(true);
    expect(await onlineAt(high + 31 * 60_000)).toBe(false);
  });
});
