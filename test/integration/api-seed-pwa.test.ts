/**
 * The routes as the seed PWA (WashCall-Web, js/server-api.js) calls them: the fields it reads
 * (`machine_list`, `tip_message`), the survey it posts, and the headers it sends.
 */
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type HttpRequest, runHandler } from "../../functions/src/http/adapter";
import { type TestUser, bearer, signUpAdmin, signUpUser } from "../support/auth";
import { dumpDb, jsonRequest, seedDemoWorld, testDb, apiAt } from "../support/world";

const NOW = Date.UTC(2026, 10, 16, 1, 0); // Monday 10:00 KST
let clock = NOW;
let resident: TestUser;
let admin: TestUser;

const call = (req: HttpRequest) =>
  runHandler(
    "api",
    apiAt(() => clock),
    req,
  );

/** What the PWA's getFetchOptions sends: JSON content type, ngrok header, the token. */
function pwaHeaders(user: TestUser): Record<string, string> {
  return { "ngrok-skip-browser-warning": "true", ...bearer(user) };
}

/** `fetch(url, {method: "POST", headers})` without a body, as getInitialMachines does. */
function postWithoutBody(path: string, headers: Record<string, string>): HttpRequest {
  return {
    method: "POST",
    path,
    headers: { "content-type": "application/json", ...headers },
    query: {},
    rawBody: undefined,
  };
}

beforeAll(async () => {
  resident = await signUpUser("pwa-resident");
  admin = await signUpAdmin("pwa-admin");
});

beforeEach(async () => {
  clock = NOW;
  await seedDemoWorld();
});

describe("the seed PWA's calls", () => {
  it("POST /load without a body answers machine_list with the seed's item fields", async () => {
    const res = await call(postWithoutBody("/load", pwaHeaders(resident)));
    expect(res.status).toBe(200);
    const list = (res.body as { machine_list: Record<string, unknown>[] }).machine_list;
    expect(list.map((m) => m.machine_id)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const m of list) {
      for (const field of [
        "machine_id",
        "machine_name",
        "machine_type",
        "status",
        "isusing",
        "timer",
        "elapsed_time_minutes",
        "avg_minutes",
      ]) {
        expect(m, `${String(m.machine_id)}.${field}`).toHaveProperty(field);
      }
    }
    expect(list[4]).toMatchObject({ machine_id: 5, machine_type: "dryer", status: "OFF" });
    expect(list[0]).toMatchObject({ isusing: 0, timer: null });
  });

  it("POST /notify_me then /load shows isusing 1 for that machine", async () => {
    const watch = await call(
      jsonRequest("POST", "/notify_me", { machine_id: 2, isusing: 1 }, pwaHeaders(resident)),
    );
    expect(watch.status).toBe(200);
    const res = await call(postWithoutBody("/load", pwaHeaders(resident)));
    const list = (res.body as { machine_list: { machine_id: number; isusing: number }[] })
      .machine_list;
    expect(list.filter((m) => m.isusing === 1).map((m) => m.machine_id)).toEqual([2]);
  });

  it("GET /tip answers tip_message, a non-empty string", async () => {
    const res = await call(jsonRequest("GET", "/tip", undefined, pwaHeaders(resident)));
    expect(res.status).toBe(200);
    const body = res.body as { tip_message: unknown; tip: unknown };
    expect(typeof body.tip_message).toBe("string");
    expect((body.tip_message as string).length).toBeGreaterThan(0);
    expect(body.tip_message).toBe(body.tip);
  });
});

describe("POST /survey", () => {
  it("stores the answer for admins: one per resident and day, a later answer replacing it", async () => {
    const send = (satisfaction: number, suggestion: string) =>
      call(jsonRequest("POST", "/survey", { satisfaction, suggestion }, pwaHeaders(resident)));
    expect(await send(4, "")).toEqual({
      status: 200,
      body: { message: "survey received", satisfaction: 4 },
    });
    clock += 60_000;
    expect((await send(2, "건조기가 자주 멈춰요")).status).toBe(200);
    const docs = (await testDb().collection("surveys").get()).docs.map((d) => d.data());
    expect(docs).toHaveLength(1);
    expect(docs[0]).toMatchObject({
      uid: resident.uid,
      satisfaction: 2,
      suggestion: "건조기가 자주 멈춰요",
    });

    clock += 24 * 3600_000; // the next day is a new answer
    expect((await send(5, "")).status).toBe(200);
    const listed = await call(jsonRequest("GET", "/admin/surveys", undefined, bearer(admin)));
    expect(listed).toMatchObject({
      status: 200,
      body: {
        surveys: [
          { satisfaction: 5, suggestion: null },
          { satisfaction: 2, suggestion: "건조기가 자주 멈춰요" },
        ],
        average_satisfaction: 3.5,
      },
    });
    expect(JSON.stringify(listed.body)).not.toContain(resident.uid);
  });

  it("keeps the answers from residents: GET /admin/surveys is 403 for them", async () => {
    const res = await call(jsonRequest("GET", "/admin/surveys", undefined, bearer(resident)));
    expect(res.status).toBe(403);
  });

  it("rejects every malformed answer with a 400 naming the field, writing nothing", async () => {
    const before = await dumpDb();
    const corpus: [unknown, string][] = [
      [{}, "satisfaction"],
      [{ satisfaction: 0 }, "satisfaction"],
      [{ satisfaction: 6 }, "satisfaction"],
      [{ satisfaction: 3.5 }, "satisfaction"],
      [{ satisfaction: "5" }, "satisfaction"],
      [{ satisfaction: null }, "satisfaction"],
      [{ satisfaction: 3, suggestion: 7 }, "suggestion"],
      [{ satisfaction: 3, suggestion: "x".repeat(1001) }, "suggestion"],
      [{ satisfaction: 3, name: "kim" }, "name"],
      [[3], "body"],
    ];
    for (const [body, field] of corpus) {
      const res = await call(jsonRequest("POST", "/survey", body, pwaHeaders(resident)));
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect((res.body as { error: { message: string } }).error.message).toContain(field);
    }
    const unsigned = await call(jsonRequest("POST", "/survey", { satisfaction: 3 }));
    expect(unsigned.status).toBe(401);
    expect(await dumpDb()).toEqual(before);
  });

  it("rejects a bad /admin/surveys limit with a 400 naming it", async () => {
    for (const limit of ["0", "201", "ten", "-1"]) {
      const res = await call({
        ...jsonRequest("GET", "/admin/surveys", undefined, bearer(admin)),
        query: { limit },
      });
      expect(res.status, limit).toBe(400);
      expect((res.body as { error: { message: string } }).error.message).toContain("limit");
    }
  });
});
