import { getAuth } from "firebase-admin/auth";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { Request } from "express";
import { type HttpRequest, fromExpress, runHandler } from "../../functions/src/http/adapter";
import { createApiHandler } from "../../functions/src/http/routes";
import {
  type ApiDeps,
  type ApiRoute,
  createRouter,
  defineRoute,
} from "../../functions/src/http/apiRouter";
import { bearer, signUpAdmin, signUpUser } from "../support/auth";
import { jsonRequest, testDb, testSettings } from "../support/world";

const NOW = Date.UTC(2026, 10, 16, 3, 0);

function deps(): ApiDeps {
  testDb();
  return {
    db: testDb(),
    auth: getAuth(),
    now: () => NOW,
    version: "test-1",
    settings: testSettings(),
  };
}

/** A route table injected for the router's own checks; the real table has no admin route yet. */
const calls: string[] = [];
const table: ApiRoute[] = [
  defineRoute({
    method: "POST",
    path: "/echo",
    auth: "user",
    body: z.object({ n: z.number().int() }).strict(),
    response: z.strictObject({ uid: z.string(), n: z.number() }),
  }).handle(async ({ user, body }) => {
    calls.push(`echo ${user.uid}`);
    return { uid: user.uid, n: body.n };
  }),
  defineRoute({
    method: "GET",
    path: "/echo",
    auth: "user",
    response: z.strictObject({ uid: z.string() }),
  }).handle(async ({ user }) => {
    return { uid: user.uid };
  }),
  defineRoute({
    method: "POST",
    path: "/admin/thing",
    auth: "admin",
    response: z.strictObject({ admin: z.boolean() }),
  }).handle(async ({ user }) => {
    calls.push(`admin ${user.uid}`);
    return { admin: user.admin };
  }),
];

const call = (req: HttpRequest, routes: ApiRoute[] = table) =>
  runHandler("api", createRouter(routes, deps()), req);

describe("api router", () => {
  it("answers 404 for an unknown path before anything else, even without a token", async () => {
    const res = await call(jsonRequest("DELETE", "/nope", "not json"));
    expect(res.status).toBe(404);
    expect(res.body).toEqual({
      error: { code: "not_found", message: expect.stringContaining("/nope") },
    });
  });

  it("answers 405 with Allow for a known path and a wrong method, before auth", async () => {
    const res = await call(jsonRequest("PUT", "/echo"));
    expect(res.status).toBe(405);
    expect(res.headers?.Allow).toBe("POST, GET");
    expect((res.body as { error: { code: string } }).error.code).toBe("method_not_allowed");
  });

  it("answers 401 for a missing, malformed or garbage token, before looking at the body", async () => {
    for (const headers of [
      {},
      { authorization: "Basic abc" },
      { authorization: "Bearer" },
      bearer("garbage.token.here"),
    ]) {
      const res = await call(jsonRequest("POST", "/echo", "{not json", headers));
      expect(res.status, JSON.stringify(headers)).toBe(401);
      expect((res.body as { error: { code: string } }).error.code).toBe("unauthenticated");
    }
    expect(calls).toEqual([]);
  });

  it("answers 503 with Retry-After, not 401, when Auth cannot be asked; an expired token stays 401", async () => {
    const failing = (code: string): ApiDeps => ({
      ...deps(),
      auth: {
        getUser: (uid) => getAuth().getUser(uid),
        verifyIdToken: () => Promise.reject(Object.assign(new Error("boom"), { code })),
      },
    });
    const before = calls.length;
    const post = (code: string) =>
      runHandler(
        "api",
        createRouter(table, failing(code)),
        jsonRequest("POST", "/echo", { n: 1 }, bearer("some.id.token")),
      );
    for (const code of ["auth/internal-error", "app/network-error", "app/network-timeout"]) {
      const res = await post(code);
      expect(res, code).toMatchObject({
        status: 503,
        headers: { "Retry-After": "1" },
        body: { error: { code: "unavailable" } },
      });
    }
    for (const code of ["auth/id-token-expired", "auth/argument-error", "auth/id-token-revoked"]) {
      expect((await post(code)).status, code).toBe(401);
    }
    expect(calls.length).toBe(before);
  });

  it("answers 403 to a signed-in non-admin on an admin route, and runs it for an admin", async () => {
    const user = await signUpUser();
    const denied = await call(jsonRequest("POST", "/admin/thing", undefined, bearer(user)));
    expect(denied.status).toBe(403);
    expect((denied.body as { error: { code: string } }).error.code).toBe("forbidden");

    const admin = await signUpAdmin();
    const ok = await call(jsonRequest("POST", "/admin/thing", undefined, bearer(admin)));
    expect(ok).toMatchObject({ status: 200, body: { admin: true } });
    expect(calls).toContain(`admin ${admin.uid}`);
    expect(calls).not.toContain(`admin ${user.uid}`);
  });

  it("validates the body after auth: bad JSON, unknown field and wrong type are 400s naming the field", async () => {
    const user = await signUpUser();
    const bad = await call(jsonRequest("POST", "/echo", "{", bearer(user)));
    expect(bad).toMatchObject({ status: 400, body: { error: { code: "invalid_json" } } });
    const extra = await call(jsonRequest("POST", "/echo", { n: 1, x: 2 }, bearer(user)));
    expect(extra).toMatchObject({
      status: 400,
      body: { error: { code: "invalid_body", message: expect.stringContaining("x") } },
    });
    const wrong = await call(jsonRequest("POST", "/echo", { n: "one" }, bearer(user)));
    expect(wrong).toMatchObject({
      status: 400,
      body: { error: { message: expect.stringContaining("n:") } },
    });
    const big = await call(
      jsonRequest("POST", "/echo", { n: 1, pad: "x".repeat(9000) }, bearer(user)),
    );
    expect(big.status).toBe(413);
    const ok = await call(jsonRequest("POST", "/echo/", { n: 7 }, bearer(user)));
    expect(ok).toEqual({ status: 200, body: { uid: user.uid, n: 7 } });
  });

  it("GET /health answers an uptime monitor without a token with the status only; details need an admin", async () => {
    const health = (headers?: Record<string, string>) =>
      runHandler(
        "api",
        createApiHandler(deps()),
        jsonRequest("GET", "/health", undefined, headers),
      );
    expect(await health()).toEqual({ status: 200, body: { status: "ok" } });
    const user = await signUpUser();
    expect(await health(bearer(user))).toEqual({ status: 200, body: { status: "ok" } });
    const admin = await signUpAdmin();
    expect(await health(bearer(admin))).toMatchObject({
      status: 200,
      body: { status: "ok", firestore: "ok", version: "test-1", time: new Date(NOW).toISOString() },
    });
    const forged = await health({ authorization: "Bearer not-a-token" });
    expect(forged).toMatchObject({ status: 401, body: { error: { code: "unauthenticated" } } });
  });

  it("answers 400 naming a repeated, unknown or prototype-named query parameter, as parsed from the raw URL", async () => {
    const user = await signUpUser();
    const api = createApiHandler(deps());
    /** What Express hands the function: the raw URL and its own parse of the query. */
    const viaExpress = (method: string, url: string) =>
      fromExpress({
        method,
        url,
        originalUrl: url,
        path: url.split("?")[0],
        headers: { ...bearer(user), "content-type": "application/json" },
        query: {},
        rawBody: method === "POST" ? Buffer.from("{}") : undefined,
      } as unknown as Request);
    const cases: [string, string, string][] = [
      ["GET", "/statistics/congestion?room_id=999&room_id=1", "room_id"],
      ["GET", "/notifications?limit=5&limit=1000", "limit"],
      ["GET", "/notifications?__proto__=x", "__proto__"],
      ["GET", "/tip?room=1", "room"],
      ["GET", "/rooms?x=1", "x"],
      ["POST", "/load?room_id=1", "room_id"],
    ];
    for (const [method, url, name] of cases) {
      const res = await runHandler("api", api, viaExpress(method, url));
      expect(res.status, url).toBe(400);
      const error = (res.body as { error: { code: string; message: string } }).error;
      expect(error.code, url).toBe("invalid_query");
      expect(error.message, url).toContain(name);
    }
    const ok = await runHandler("api", api, viaExpress("GET", "/notifications?limit=5"));
    expect(ok.status).toBe(200);
  });

  it("refuses a table with the same method and path twice", () => {
    expect(() => createRouter([table[0], table[0]], deps())).toThrow(/duplicate route POST \/echo/);
  });
});
