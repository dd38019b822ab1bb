import { type UserRecord, getAuth } from "firebase-admin/auth";
import { Timestamp } from "firebase-admin/firestore";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type HttpResponse, runHandler } from "../../functions/src/http/adapter";
import { createApiHandler } from "../../functions/src/http/routes";
import type { ApiDeps } from "../../functions/src/http/apiRouter";
import {
  type RecordingTransport,
  createRecordingTransport,
} from "../../tools/fcm/recordingTransport";
import { reportBroken } from "../../functions/src/store/broken";
import { saveFcmToken } from "../../functions/src/store/users";
import { type TestUser, bearer, signUpAdmin, signUpUser } from "../support/auth";
import {
  deliverPushes,
  dumpDb,
  invocationAt,
  jsonRequest,
  seedDemoWorld,
  testDb,
  testSettings,
} from "../support/world";

const NOW = Date.UTC(2026, 10, 16, 3, 0); // 2026-11-16 12:00 KST
let clock = NOW;
let transport: RecordingTransport;

/**
 * Accounts made here are seconds old on the wall clock but the api runs on a fixed clock, so the
 * broken-report rule reads account ages from this stand-in: a week before the clock, or a minute
 * for the accounts listed as new.
 */
const newAccounts = new Set<string>();
const ageAwareAuth: ApiDeps["auth"] = {
  verifyIdToken: (token, check) => getAuth().verifyIdToken(token, check),
  getUser: async (uid) => {
    const age = newAccounts.has(uid) ? 60_000 : 7 * 86_400_000;
    return {
      uid,
      metadata: { creationTime: new Date(clock - age).toUTCString() },
    } as unknown as UserRecord;
  },
};

function deps(over: Partial<ApiDeps> = {}): ApiDeps {
  return {
    db: testDb(),
    auth: ageAwareAuth,
    now: () => clock,
    version: "test",
    settings: testSettings(),
    ...over,
  };
}

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  return runHandler("api", createApiHandler(deps()), jsonRequest("POST", path, body, headers));
}

async function report(user: TestUser, body: unknown): Promise<HttpResponse> {
  clock += 1000;
  return post("/report_broken", body, bearer(user));
}

/** Two admins (one reading English) known only by `admins/{uid}`, each with a device token. */
async function addAdmins(): Promise<string[]> {
  const db = testDb();
  const uids = ["admin-ko", "admin-en"];
  for (const uid of uids) {
    await db.doc(`admins/${uid}`).set({ email: `${uid}@test.local` });
    await saveFcmToken(db, uid, {
      token: `tok-${uid}`,
      platform: "web",
      ...(uid === "admin-en" ? { locale: "en" as const } : {}),
      now: NOW,
    });
  }
  return uids;
}

const machine = async (id: string) => (await testDb().doc(`machines/${id}`).get()).data() ?? {};
const inbox = async (uid: string) =>
  (await testDb().collection(`users/${uid}/notifications`).get()).docs;
const unread = async (uid: string) =>
  (await testDb().doc(`users/${uid}`).get()).get("unreadCount") as number | undefined;
/** Pushes sent to the user once the push trigger has run for every push document. */
const pushesTo = async (uid: string) => {
  await deliverPushes(transport, clock);
  return transport.delivered.filter((m) => m.uid === uid);
};
const errorOf = (res: HttpResponse) =>
  (res.body as { error: { code: string; message: string } }).error;

beforeEach(async () => {
  clock = NOW;
  newAccounts.clear();
  transport = createRecordingTransport();
  delete process.env.BROKEN_REPORT_THRESHOLD;
  await seedDemoWorld();
});

afterEach(() => {
  delete process.env.BROKEN_REPORT_THRESHOLD;
});

describe("POST /report_broken", () => {
  it("answers 401 without a token or with a bad one, before reading the body, and writes nothing", async () => {
    const before = await dumpDb();
    for (const headers of [{}, { authorization: "Basic x" }, bearer("not.a.token")]) {
      const res = await post("/report_broken", "{broken json", headers);
      expect(res.status, JSON.stringify(headers)).toBe(401);
      expect(errorOf(res).code).toBe("unauthenticated");
    }
    expect(await dumpDb()).toEqual(before);
  });

  it("one report is counted and stored, the machine stays in order, and repeating it is idempotent", async () => {
    await addAdmins();
    const a = await signUpUser("reporter");
    const first = await report(a, { machine_id: 3, reason: "문이 안 열려요" });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      message: "ok",
      machine_id: 3,
      reports: 1,
      threshold: 2,
      out_of_order: false,
      already_reported: false,
      counted: true,
    });
    expect((await testDb().doc(`machines/3/brokenReports/${a.uid}`).get()).data()).toMatchObject({
      uid: a.uid,
      reason: "문이 안 열려요",
      outage: 0,
    });
    const again = await report(a, { machine_id: "3", reason: "still broken" });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ reports: 1, out_of_order: false, already_reported: true });
    // The first reason is kept; nothing flagged; no admin told.
    expect(
      (await testDb().doc(`machines/3/brokenReports/${a.uid}`).get()).get("reason") as string,
    ).toBe("문이 안 열려요");
    expect((await machine("3")).outOfOrder).toBe(false);
    expect(await inbox("admin-ko")).toEqual([]);
    expect(transport.calls).toEqual([]);
  });

  it("the second distinct reporter flags the machine out of order and every admin gets one notice and one push in their language", async () => {
    const admins = await addAdmins();
    const a = await signUpUser("first");
    const b = await signUpUser("second");
    await report(a, { machine_id: 3, reason: "소음이 심해요" });
    const flagTime = clock + 1000;
    const res = await report(b, { machine_id: 3, reason: "탈수가 안 돼요" });
    expect(res.body).toMatchObject({ reports: 2, threshold: 2, out_of_order: true });

    const m = await machine("3");
    expect(m.outOfOrder).toBe(true);
    expect((m.outOfOrderSince as Timestamp).toMillis()).toBe(flagTime);
    expect(m.outOfOrderReason).toBe("탈수가 안 돼요");

    for (const uid of admins) {
      const entries = await inbox(uid);
      expect(entries.map((d) => d.id)).toEqual(["broken-3-0"]);
      expect(await unread(uid)).toBe(1);
      expect((await pushesTo(uid)).map((p) => p.token)).toEqual([`tok-${uid}`]);
    }
    expect((await inbox("admin-ko"))[0]?.data()).toMatchObject({
      title: "고장 신고",
      body: "세탁기 3(#3) 고장 신고가 들어왔어요: 탈수가 안 돼요",
      type: "machine_broken",
      machineId: "3",
      roomId: "1",
      readAt: null,
      read: false,
    });
    expect((await pushesTo("admin-en"))[0]).toMatchObject({
      title: "Breakdown reported",
      body: "세탁기 3 (#3) was reported broken: 탈수가 안 돼요",
      topic: "machine-3",
      link: "https://app.test/rooms/1/machines/3",
    });
    // The reporters themselves are not admins: nothing for them.
    expect(await inbox(a.uid)).toEqual([]);
  });

  it("more reports after the flag, repeats, and a replay of the whole step never notify an admin twice", async () => {
    const admins = await addAdmins();
    const users = [await signUpUser("u1"), await signUpUser("u2"), await signUpUser("u3")];
    for (const u of users) await report(u, { machine_id: 4, reason: "멈췄어요" });
    await report(users[0], { machine_id: 4, reason: "멈췄어요" });
    // A request that died after notifying but before the flag: the next one completes it.
    await testDb().doc("machines/4").update({ outOfOrder: false });
    const replay = await reportBroken(
      invocationAt(clock, { broken: { threshold: 2, minAccountAgeHours: 24 } }),
      { machineId: "4", uid: users[1].uid, reason: "멈췄어요", counts: true },
    );
    expect(replay).toMatchObject({ reports: 3, outOfOrder: true, adminsNotified: 0 });
    expect((await machine("4")).outOfOrder).toBe(true);
    for (const uid of admins) {
      expect((await inbox(uid)).length).toBe(1);
      expect(await unread(uid)).toBe(1);
      expect((await pushesTo(uid)).length).toBe(1);
    }
  });

  it("concurrent reports from five users flag the machine once and notify each admin once", async () => {
    const admins = await addAdmins();
    const users = await Promise.all([1, 2, 3, 4, 5].map((i) => signUpUser(`c${i}`)));
    const results = await Promise.all(
      users.map((u) => post("/report_broken", { machine_id: 2, reason: "물이 새요" }, bearer(u))),
    );
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect((await testDb().collection("machines/2/brokenReports").get()).size).toBe(5);
    expect((await machine("2")).outOfOrder).toBe(true);
    for (const uid of admins) {
      expect((await inbox(uid)).map((d) => d.id)).toEqual(["broken-2-0"]);
      expect(await unread(uid)).toBe(1);
      expect((await pushesTo(uid)).length).toBe(1);
    }
  });

  it("reports from accounts younger than 24 hours are kept but do not count: two throwaway accounts cannot take a machine out of order", async () => {
    const admins = await addAdmins();
    const [fresh1, fresh2, old] = [
      await signUpUser("fresh1"),
      await signUpUser("fresh2"),
      await signUpUser("old"),
    ];
    newAccounts.add(fresh1.uid);
    newAccounts.add(fresh2.uid);
    for (const u of [fresh1, fresh2]) {
      const res = await report(u, { machine_id: 4, reason: "고장" });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ reports: 0, counted: false, out_of_order: false });
      expect((res.body as { note: string }).note).toContain("24 hours");
    }
    expect((await machine("4")).outOfOrder).not.toBe(true);
    expect(await inbox(admins[0])).toEqual([]);
    const stored = await testDb().collection("machines/4/brokenReports").get();
    expect(stored.docs.map((d) => d.get("counts") as boolean)).toEqual([false, false]);

    // One established reporter is not two.
    expect((await report(old, { machine_id: 4, reason: "고장" })).body).toMatchObject({
      reports: 1,
      counted: true,
      out_of_order: false,
    });
    // A second established reporter makes two.
    const old2 = await signUpUser("old2");
    expect((await report(old2, { machine_id: 4, reason: "고장" })).body).toMatchObject({
      reports: 2,
      counted: true,
      out_of_order: true,
    });
  });

  it("the threshold is configurable (BROKEN_REPORT_THRESHOLD=3: two reporters are not enough)", async () => {
    process.env.BROKEN_REPORT_THRESHOLD = "3";
    await addAdmins();
    const users = [await signUpUser("t1"), await signUpUser("t2"), await signUpUser("t3")];
    await report(users[0], { machine_id: 1, reason: "x" });
    const second = await report(users[1], { machine_id: 1, reason: "x" });
    expect(second.body).toMatchObject({ reports: 2, threshold: 3, out_of_order: false });
    expect((await machine("1")).outOfOrder).toBe(false);
    const third = await report(users[2], { machine_id: 1, reason: "x" });
    expect(third.body).toMatchObject({ reports: 3, out_of_order: true });
    expect((await inbox("admin-ko")).length).toBe(1);
  });

  it("answers 404 naming an unknown machine and writes nothing", async () => {
    const a = await signUpUser("nomachine");
    const before = await dumpDb();
    const res = await report(a, { machine_id: 99, reason: "?" });
    expect(res.status).toBe(404);
    expect(errorOf(res)).toEqual({ code: "not_found", message: "machine_id: no machine 99" });
    expect(await dumpDb()).toEqual(before);
  });

  it("rejects bad bodies with 400 naming the field, and writes nothing", async () => {
    const a = await signUpUser("badinput");
    const before = await dumpDb();
    const corpus: [unknown, string, string][] = [
      [{ reason: "x" }, "invalid_body", "machine_id"],
      [{ machine_id: 0, reason: "x" }, "invalid_body", "machine_id"],
      [{ machine_id: "abc", reason: "x" }, "invalid_body", "machine_id"],
      [{ machine_id: 1.5, reason: "x" }, "invalid_body", "machine_id"],
      [{ machine_id: 1 }, "invalid_body", "reason"],
      [{ machine_id: 1, reason: "" }, "invalid_body", "reason"],
      [{ machine_id: 1, reason: "   " }, "invalid_body", "reason"],
      [{ machine_id: 1, reason: "x".repeat(201) }, "invalid_body", "reason"],
      [{ machine_id: 1, reason: "line one\nline two" }, "invalid_body", "reason"],
      [{ machine_id: 1, reason: 42 }, "invalid_body", "reason"],
      [{ machine_id: 1, reason: "x", severity: "high" }, "invalid_body", "severity"],
      [[1, "x"], "invalid_body", "body"],
      ["{not json", "invalid_json", "JSON"],
    ];
    for (const [body, code, field] of corpus) {
      const res = await report(a, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(errorOf(res).code, JSON.stringify(body)).toBe(code);
      expect(errorOf(res).message, JSON.stringify(body)).toContain(field);
    }
    expect(await dumpDb()).toEqual(before);
  });

  it("accepts a 200-character reason, trimmed", async () => {
    const a = await signUpUser("long");
    const reason = "가".repeat(200);
    const res = await report(a, { machine_id: 1, reason: `  ${reason} ` });
    expect(res.status).toBe(200);
    expect(
      (await testDb().doc(`machines/1/brokenReports/${a.uid}`).get()).get("reason") as string,
    ).toBe(reason);
  });
});

describe("POST /admin/clear_broken", () => {
  it("puts the machine back in order, archives the outage's reports, and a new outage starts from zero and notifies again", async () => {
    await addAdmins();
    const admin = await signUpAdmin("clearer");
    const [a, b] = [await signUpUser("r1"), await signUpUser("r2")];
    await report(a, { machine_id: 5, reason: "안 말라요" });
    await report(b, { machine_id: 5, reason: "안 말라요" });
    expect((await machine("5")).outOfOrder).toBe(true);

    const res = await post("/admin/clear_broken", { machine_id: 5 }, bearer(admin));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ message: "ok", machine_id: 5, was_out_of_order: true, archived: 2 });
    expect(await machine("5")).toMatchObject({
      outOfOrder: false,
      outOfOrderSince: null,
      outOfOrderReason: null,
      brokenOutage: 1,
    });
    expect((await testDb().collection("machines/5/brokenReports").get()).size).toBe(0);
    const archive = await testDb().collection("machines/5/brokenArchive").get();
    expect(archive.docs.map((d) => d.id).sort()).toEqual([`0-${a.uid}`, `0-${b.uid}`].sort());
    expect(archive.docs[0]?.data()).toMatchObject({ reason: "안 말라요", clearedBy: admin.uid });

    // The same users may report the next outage; it needs the threshold again.
    const again = await report(a, { machine_id: 5, reason: "또 고장" });
    expect(again.body).toMatchObject({ reports: 1, out_of_order: false, already_reported: false });
    await report(b, { machine_id: 5, reason: "또 고장" });
    expect((await machine("5")).outOfOrder).toBe(true);
    expect((await inbox("admin-ko")).map((d) => d.id).sort()).toEqual(["broken-5-0", "broken-5-1"]);
    expect((await inbox("admin-ko")).find((d) => d.id === "broken-5-1")?.get("body")).toBe(
      "건조기 5(#5) 고장 신고가 들어왔어요: 또 고장",
    );
  });

  it("clearing a machine that works writes nothing", async () => {
    const admin = await signUpAdmin("noop");
    const before = await dumpDb();
    const res = await post("/admin/clear_broken", { machine_id: 1 }, bearer(admin));
    expect(res.body).toEqual({
      message: "ok",
      machine_id: 1,
      was_out_of_order: false,
      archived: 0,
    });
    expect(await dumpDb()).toEqual(before);
  });

  it("answers 404 for an unknown machine and 400 naming the field for bad bodies, writing nothing", async () => {
    const admin = await signUpAdmin("badclear");
    const before = await dumpDb();
    const missing = await post("/admin/clear_broken", { machine_id: 77 }, bearer(admin));
    expect(missing.status).toBe(404);
    expect(errorOf(missing).message).toBe("machine_id: no machine 77");
    for (const [body, field] of [
      [{}, "machine_id"],
      [{ machine_id: -1 }, "machine_id"],
      [{ machine_id: "1x" }, "machine_id"],
      [{ machine_id: 1, reason: "x" }, "reason"],
    ] as const) {
      const res = await post("/admin/clear_broken", body, bearer(admin));
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(errorOf(res).code).toBe("invalid_body");
      expect(errorOf(res).message).toContain(field);
    }
    expect(await dumpDb()).toEqual(before);
  });
});
