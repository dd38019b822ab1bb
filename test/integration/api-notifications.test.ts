import { Timestamp } from "firebase-admin/firestore";
import { beforeEach, describe, expect, it } from "vitest";
import { type HttpRequest, runHandler } from "../../functions/src/http/adapter";
import { roomFinishedMessage } from "../../functions/src/domain/messages";
import { sendNotices } from "../../functions/src/store/notices";
import { tokenId } from "../../functions/src/store/users";
import { type TestUser, bearer, signUpUser } from "../support/auth";
import { dumpDb, jsonRequest, seedDemoWorld, testDb, apiAt } from "../support/world";

const NOW = Date.UTC(2026, 10, 16, 3, 0);
let clock = NOW;
const api = () => apiAt(() => clock);
const send = (req: HttpRequest) => runHandler("api", api(), req);
const post = (user: TestUser, path: string, body: unknown, headers: Record<string, string> = {}) =>
  send(jsonRequest("POST", path, body, { ...bearer(user), ...headers }));
function get(user: TestUser, path: string, query: Record<string, string> = {}) {
  return send({ ...jsonRequest("GET", path, undefined, bearer(user)), query });
}
const errorOf = (res: { body: unknown }) =>
  (res.body as { error: { code: string; message: string } }).error;

/** Everything, including the subcollections dumpDb does not walk. */
async function snapshot() {
  const out = await dumpDb();
  for (const sub of ["watchers", "subscribers"]) {
    for (const d of (await testDb().collectionGroup(sub).get()).docs) out[d.ref.path] = d.data();
  }
  return out;
}

/** `n` FINISHED notices in room 1 a minute apart, to every room subscriber. */
async function finishedEvents(n: number) {
  const subscribers = (await testDb().collection("rooms/1/subscribers").get()).docs.map(
    (d) => d.id,
  );
  const ids: string[] = [];
  for (let i = 1; i <= n; i++) {
    clock += 60_000;
    const id = `finished-c${i}`;
    const machineId = String(((i - 1) % 4) + 1);
    const name = (await testDb().doc(`machines/${machineId}`).get()).get("name") as string;
    await sendNotices(
      testDb(),
      subscribers.map((uid) => ({
        uid,
        id,
        type: "room_finished",
        machineId,
        roomId: "1",
        text: (locale) =>
          roomFinishedMessage({ id: machineId, name, type: "washer" }, locale, null),
        extra: { cycleId: `c${i}` },
        ttlSeconds: 3600,
      })),
      clock,
    );
    ids.push(id);
  }
  return ids;
}

const unread = async (uid: string) =>
  (await testDb().doc(`users/${uid}`).get()).get("unreadCount") as number;

beforeEach(async () => {
  clock = NOW;
  await seedDemoWorld();
});

const ROUTES: [string, string, unknown][] = [
  ["POST", "/notify_me", { machine_id: 1, isusing: 1 }],
  ["POST", "/device_subscribe", { room_id: 1 }],
  ["POST", "/set_fcm_token", { fcm_token: "t" }],
  ["POST", "/logout", { fcm_token: "t" }],
  ["POST", "/settings", { locale: "en" }],
  ["GET", "/notifications", undefined],
  ["POST", "/notifications/read", { all: true }],
];

describe("api auth", () => {
  it.each(ROUTES)(
    "%s %s answers 401 without a token and with a garbage token, writing nothing",
    async (method, path, body) => {
      const before = await snapshot();
      for (const headers of [
        {} as Record<string, string>,
        { authorization: "Bearer not-a-firebase-token" },
      ]) {
        const res = await send(jsonRequest(method, path, body, headers));
        expect(res.status).toBe(401);
        expect(errorOf(res).code).toBe("unauthenticated");
      }
      expect(await snapshot()).toEqual(before);
    },
  );
});

describe("watches and subscriptions", () => {
  it("notify_me 1 creates the one-shot watch, 0 removes it; an unknown machine is a 404", async () => {
    const u = await signUpUser("watch");
    expect(await post(u, "/notify_me", { machine_id: "3", isusing: 1 })).toMatchObject({
      status: 200,
      body: { machine_id: 3, isusing: 1 },
    });
    expect((await testDb().doc(`machines/3/watchers/${u.uid}`).get()).exists).toBe(true);
    expect((await post(u, "/notify_me", { machine_id: 3, isusing: 0 })).status).toBe(200);
    expect((await testDb().doc(`machines/3/watchers/${u.uid}`).get()).exists).toBe(false);
    const missing = await post(u, "/notify_me", { machine_id: 99, isusing: 1 });
    expect(missing.status).toBe(404);
    expect(errorOf(missing).message).toContain("machine_id");
    expect((await testDb().doc(`machines/99/watchers/${u.uid}`).get()).exists).toBe(false);
  });

  it("device_subscribe subscribes by default and isusing 0 unsubscribes; an unknown room is a 404", async () => {
    const u = await signUpUser("subscribe");
    expect((await post(u, "/device_subscribe", { room_id: 1 })).status).toBe(200);
    expect((await testDb().doc(`rooms/1/subscribers/${u.uid}`).get()).exists).toBe(true);
    expect(await post(u, "/device_subscribe", { room_id: 1, isusing: 0 })).toMatchObject({
      status: 200,
      body: { isusing: 0 },
    });
    expect((await testDb().doc(`rooms/1/subscribers/${u.uid}`).get()).exists).toBe(false);
    expect((await post(u, "/device_subscribe", { room_id: 7 })).status).toBe(404);
  });
});

describe("device tokens", () => {
  it("keeps several tokens per user under their sha256, with platform and last refresh; logout drops one", async () => {
    const u = await signUpUser("tokens");
    expect((await post(u, "/set_fcm_token", { fcm_token: "tok-1" })).status).toBe(200);
    expect(
      (await post(u, "/set_fcm_token", { fcm_token: "tok-2" }, { "x-client-platform": "Android" }))
        .status,
    ).toBe(200);
    clock += 5000;
    expect(
      (await post(u, "/set_fcm_token", { fcm_token: "tok-1", platform: "ios", locale: "en" }))
        .status,
    ).toBe(200);
    const docs = (await testDb().collection(`users/${u.uid}/tokens`).get()).docs;
    const byId = Object.fromEntries(docs.map((d) => [d.id, d.data()]));
    expect(Object.keys(byId).sort()).toEqual([tokenId("tok-1"), tokenId("tok-2")].sort());
    expect(byId[tokenId("tok-1")]).toEqual({
      token: "tok-1",
      platform: "ios",
      lastRefreshedAt: Timestamp.fromMillis(NOW + 5000),
    });
    expect(byId[tokenId("tok-2")]).toMatchObject({
      platform: "android",
      lastRefreshedAt: Timestamp.fromMillis(NOW),
    });
    expect((await testDb().doc(`users/${u.uid}`).get()).get("locale")).toBe("en");

    expect(await post(u, "/logout", { fcm_token: "tok-1" })).toMatchObject({
      status: 200,
      body: { removed: true },
    });
    expect(await post(u, "/logout", { fcm_token: "tok-1" })).toMatchObject({
      status: 200,
      body: { removed: false },
    });
    const left = (await testDb().collection(`users/${u.uid}/tokens`).get()).docs.map((d) => d.id);
    expect(left).toEqual([tokenId("tok-2")]);
  });

  it("keeps at most 10 tokens per user, dropping the one refreshed longest ago first", async () => {
    const u = await signUpUser("token-cap");
    for (let i = 1; i <= 12; i++) {
      clock += 1000;
      expect((await post(u, "/set_fcm_token", { fcm_token: `tok-${i}` })).status).toBe(200);
      if (i === 6) {
        clock += 1000;
        await post(u, "/set_fcm_token", { fcm_token: "tok-1" }); // refreshed: not the oldest
      }
    }
    const kept = (await testDb().collection(`users/${u.uid}/tokens`).get()).docs.map(
      (d) => d.get("token") as string,
    );
    expect(kept.sort()).toEqual(
      [
        "tok-1",
        "tok-5",
        "tok-6",
        "tok-7",
        "tok-8",
        "tok-9",
        "tok-10",
        "tok-11",
        "tok-12",
        "tok-4",
      ].sort(),
    );
  });

  it("another user's logout with the same token does not touch this user's", async () => {
    const [a, b] = [await signUpUser("tok-a"), await signUpUser("tok-b")];
    await post(a, "/set_fcm_token", { fcm_token: "shared" });
    expect(await post(b, "/logout", { fcm_token: "shared" })).toMatchObject({
      body: { removed: false },
    });
    expect(
      (
        await testDb()
          .doc(`users/${a.uid}/tokens/${tokenId("shared")}`)
          .get()
      ).exists,
    ).toBe(true);
  });
});

describe("inbox", () => {
  it("pages newest first with limit and cursor", async () => {
    const u = await signUpUser("pages");
    await post(u, "/device_subscribe", { room_id: 1 });
    const ids = await finishedEvents(5);
    const p1 = await get(u, "/notifications", { limit: "2" });
    expect(p1.status).toBe(200);
    const b1 = p1.body as {
      notifications: { id: string; createdAt: number; readAt: null }[];
      next_cursor: string;
      unread_count: number;
    };
    expect(b1.notifications.map((n) => n.id)).toEqual([ids[4], ids[3]]);
    expect(b1.unread_count).toBe(5);
    expect(b1.notifications[0]).toMatchObject({
      machineId: "1",
      roomId: "1",
      type: "room_finished",
      createdAt: NOW + 5 * 60_000,
      readAt: null,
    });
    const p2 = (await get(u, "/notifications", { limit: "2", cursor: b1.next_cursor }))
      .body as typeof b1;
    expect(p2.notifications.map((n) => n.id)).toEqual([ids[2], ids[1]]);
    const p3 = (await get(u, "/notifications", { limit: "2", cursor: p2.next_cursor }))
      .body as typeof b1;
    expect(p3.notifications.map((n) => n.id)).toEqual([ids[0]]);
    expect(p3.next_cursor).toBeNull();
    const all = (await get(u, "/notifications")).body as typeof b1;
    expect(all.notifications).toHaveLength(5);
  });

  it("keeps unreadCount right when reading one (twice) and then all", async () => {
    const u = await signUpUser("reader");
    await post(u, "/device_subscribe", { room_id: 1 });
    const ids = await finishedEvents(3);
    expect(await unread(u.uid)).toBe(3);
    expect(await post(u, "/notifications/read", { id: ids[1] })).toMatchObject({
      status: 200,
      body: { marked: 1 },
    });
    expect(await unread(u.uid)).toBe(2);
    expect(await post(u, "/notifications/read", { id: ids[1] })).toMatchObject({
      status: 200,
      body: { marked: 0 },
    });
    expect(await unread(u.uid)).toBe(2);
    const readAt = (await testDb().doc(`users/${u.uid}/notifications/${ids[1]}`).get()).get(
      "readAt",
    ) as Timestamp;
    expect(readAt.toMillis()).toBe(clock);
    expect(await post(u, "/notifications/read", { all: true })).toMatchObject({
      status: 200,
      body: { marked: 2 },
    });
    expect(await unread(u.uid)).toBe(0);
    expect(await post(u, "/notifications/read", { all: true })).toMatchObject({
      body: { marked: 0 },
    });
    expect(await unread(u.uid)).toBe(0);
  });

  it("a user can neither read nor mark another user's notifications", async () => {
    const owner = await signUpUser("owner");
    const other = await signUpUser("other");
    await post(owner, "/device_subscribe", { room_id: 1 });
    const [id] = await finishedEvents(1);
    const listed = (await get(other, "/notifications")).body as {
      notifications: unknown[];
      unread_count: number;
    };
    expect(listed).toMatchObject({ notifications: [], unread_count: 0 });
    const before = await snapshot();
    const res = await post(other, "/notifications/read", { id });
    expect(res.status).toBe(404);
    expect(errorOf(res).code).toBe("not_found");
    expect((await get(other, "/notifications", { cursor: id })).status).toBe(400);
    expect(await post(other, "/notifications/read", { all: true })).toMatchObject({
      body: { marked: 0 },
    });
    expect(await snapshot()).toEqual(before);
    expect(await unread(owner.uid)).toBe(1);
  });

  it.each([
    [{ limit: "0" }, "limit"],
    [{ limit: "101" }, "limit"],
    [{ limit: "ten" }, "limit"],
    [{ cursor: "a/b" }, "cursor"],
    [{ page: "2" }, "page"],
  ])("GET /notifications with query %j is a 400 naming %s", async (query, field) => {
    const u = await signUpUser("query");
    const res = await get(u, "/notifications", query);
    expect(res.status).toBe(400);
    expect(errorOf(res)).toMatchObject({
      code: "invalid_query",
      message: expect.stringContaining(field),
    });
  });
});

describe("settings", () => {
  it("POST /settings keeps the language, and the next notification is written in it", async () => {
    const u = await signUpUser("settings-en");
    expect((await post(u, "/device_subscribe", { room_id: 1 })).status).toBe(200);
    const res = await post(u, "/settings", { locale: "en" });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ message: "ok", locale: "en" });
    expect((await testDb().doc(`users/${u.uid}`).get()).get("locale")).toBe("en");
    const [id] = await finishedEvents(1);
    const entry = await testDb().doc(`users/${u.uid}/notifications/${id}`).get();
    // The machine keeps its (Korean) name; the wording is English.
    expect(entry.get("title")).toBe("세탁기 1: wash finished");
  });
});

describe("bad bodies", () => {
  const corpus: [string, unknown, string][] = [
    ["/notify_me", {}, "machine_id"],
    ["/notify_me", { machine_id: 1 }, "isusing"],
    ["/notify_me", { machine_id: 1, isusing: 2 }, "isusing"],
    ["/notify_me", { machine_id: 1, isusing: "1" }, "isusing"],
    ["/notify_me", { machine_id: 0, isusing: 1 }, "machine_id"],
    ["/notify_me", { machine_id: "1a", isusing: 1 }, "machine_id"],
    ["/notify_me", { machine_id: 1.5, isusing: 1 }, "machine_id"],
    ["/notify_me", { machine_id: 1, isusing: 1, uid: "x" }, "uid"],
    ["/notify_me", [1, 1], "body"],
    ["/notify_me", "{", "JSON"],
    ["/device_subscribe", {}, "room_id"],
    ["/device_subscribe", { room_id: -1 }, "room_id"],
    ["/device_subscribe", { room_id: 1, isusing: "no" }, "isusing"],
    ["/device_subscribe", { room_id: 1, extra: true }, "extra"],
    ["/set_fcm_token", {}, "fcm_token"],
    ["/set_fcm_token", { fcm_token: "" }, "fcm_token"],
    ["/set_fcm_token", { fcm_token: "a b" }, "fcm_token"],
    ["/set_fcm_token", { fcm_token: 12 }, "fcm_token"],
    ["/set_fcm_token", { fcm_token: "x".repeat(5000) }, "fcm_token"],
    ["/set_fcm_token", { fcm_token: "t", platform: "symbian" }, "platform"],
    ["/set_fcm_token", { fcm_token: "t", locale: "fr" }, "locale"],
    ["/set_fcm_token", { token: "t" }, "token"],
    ["/settings", {}, "locale"],
    ["/settings", { locale: "fr" }, "locale"],
    ["/settings", { locale: "EN" }, "locale"],
    ["/settings", { locale: "en", theme: "dark" }, "theme"],
    ["/logout", {}, "fcm_token"],
    ["/logout", { fcm_token: null }, "fcm_token"],
    ["/logout", { fcm_token: "t", all: true }, "all"],
    ["/notifications/read", {}, "id"],
    ["/notifications/read", { id: "a", all: true }, "id"],
    ["/notifications/read", { all: false }, "all"],
    ["/notifications/read", { id: 5 }, "id"],
    ["/notifications/read", { id: "../x" }, "id"],
    ["/notifications/read", { ids: ["a"] }, "ids"],
  ];

  it.each(corpus)("POST %s %j is a 400 naming %s and writes nothing", async (path, body, field) => {
    const u = await signUpUser("badbody");
    const before = await snapshot();
    const res = await post(u, path, body);
    expect(res.status).toBe(400);
    expect(errorOf(res).message).toContain(field);
    expect(await snapshot()).toEqual(before);
  });

  it("a platform header outside web/android/ios is a 400 naming platform", async () => {
    const u = await signUpUser("badheader");
    const res = await post(
      u,
      "/set_fcm_token",
      { fcm_token: "t" },
      { "x-client-platform": "palm" },
    );
    expect(res.status).toBe(400);
    expect(errorOf(res).message).toContain("platform");
    expect((await testDb().collection(`users/${u.uid}/tokens`).get()).size).toBe(0);
  });
});
