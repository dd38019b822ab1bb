/**
 * The PWA's pure parts: the service worker's push → notification and click-through decisions,
 * its offline shell list and caching strategy, the router, and a machine's time left.
 */
import { describe, expect, it } from "vitest";
import {
  cacheable,
  notificationFromPush,
  shellAssets,
  strategyFor,
  targetPath,
} from "../../web/sw/logic";
import { parseRoute } from "../../web/src/route";
import { timingOf } from "../../web/src/pages/timing";
import type { Machine, Room } from "../../web/src/data";
import { notificationLink } from "../../functions/src/domain/messages";
import { toFcmMessage } from "../../functions/src/services/fcm/transport";

const ORIGIN = "https://washcall.example";
const MIN = 60_000;

describe("a push becomes a notification", () => {
  it("shows what the sender sends (toFcmMessage's webpush payload) and leads to the machine", () => {
    const msg = toFcmMessage({
      uid: "u1",
      token: "t",
      title: "세탁기 2 세탁 완료",
      body: "빨래를 꺼내 주세요",
      data: { machineId: "2", roomId: "1", type: "finished", notificationId: "n1" },
      link: notificationLink(ORIGIN, "1", "2"),
      topic: "machine-2",
      ttlSeconds: 600,
    });
    // What the browser receives: the webpush notification, the data, the fcmOptions link.
    const payload = {
      notification: msg.webpush?.notification,
      data: msg.data,
      fcmOptions: msg.webpush?.fcmOptions,
    };
    expect(notificationFromPush(payload, ORIGIN)).toEqual({
      title: "세탁기 2 세탁 완료",
      options: {
        body: "빨래를 꺼내 주세요",
        icon: "/icons/icon-192.png",
        badge: "/icons/icon-192.png",
        tag: "machine-2",
        data: { url: "/rooms/1/machines/2" },
      },
    });
  });

  it("never follows a link to another origin: the room and machine ids lead instead; a relative link stays on the site", () => {
    expect(
      targetPath({ link: "https://evil.example/rooms/1", roomId: "1", machineId: "3" }, ORIGIN),
    ).toBe("/rooms/1/machines/3");
    expect(targetPath({ roomId: "a b" }, ORIGIN)).toBe("/rooms/a%20b");
    expect(targetPath({}, ORIGIN)).toBe("/");
    expect(targetPath({ link: "not a url at all::" }, "http://127.0.0.1:5000")).toBe(
      "/not%20a%20url%20at%20all::",
    );
  });

  it("shows nothing for a payload without a title", () => {
    for (const p of [null, 42, "x", {}, { notification: { body: "b" } }, { data: { title: "" } }]) {
      expect(notificationFromPush(p, ORIGIN)).toBeNull();
    }
  });
});

describe("the offline shell", () => {
  it("keeps index.html's own scripts, styles, icons and manifest, not Firebase's reserved URLs", () => {
    const html =
      '<link rel="manifest" href="/manifest.webmanifest" /><link rel="preload" href="/__/firebase/init.json" as="fetch" />' +
      '<script type="module" crossorigin src="/assets/index-abc.js"></script><link rel="stylesheet" href="/assets/index-x.css">' +
      '<link rel="icon" href="/icons/icon.svg"><a href="https://other.example/x">';
    expect(shellAssets(html)).toEqual([
      "/assets/index-abc.js",
      "/assets/index-x.css",
      "/icons/icon.svg",
      "/manifest.webmanifest",
    ]);
  });

  it("never keeps index.html (the rewrite's answer for a file gone after a deploy) as a script, style or icon", () => {
    expect(cacheable("/assets/shell-old.js", 200, "text/html; charset=utf-8")).toBe(false);
    expect(cacheable("/assets/shell-new.js", 200, "text/javascript; charset=utf-8")).toBe(true);
    expect(cacheable("/icons/icon-192.png", 404, "text/plain")).toBe(false);
    expect(cacheable("/", 200, "text/html; charset=utf-8")).toBe(true);
    expect(cacheable("/", 200, "image/svg+xml")).toBe(false);
  });

  it("pages from the network first, hashed assets from the cache first, the rest untouched", () => {
    expect(strategyFor("/rooms/1", "navigate")).toBe("network-first");
    expect(strategyFor("/assets/shell-123.js", "cors")).toBe("cache-first");
    expect(strategyFor("/washcall.json", "cors")).toBe("network-first");
    expect(strategyFor("/api/load", "cors")).toBe("network");
  });
});

describe("routes", () => {
  it("maps paths to pages, the notification path to the board with the machine", () => {
    expect(parseRoute("/")).toEqual({ page: "board", roomId: null, machineId: null });
    expect(parseRoute("/rooms/1")).toEqual({ page: "board", roomId: "1", machineId: null });
    expect(parseRoute("/rooms/1/machines/2")).toEqual({
      page: "board",
      roomId: "1",
      machineId: "2",
    });
    expect(parseRoute("/rooms/a%20b/machines/2").page).toBe("board");
    expect(parseRoute("/stats", "?room=3")).toEqual({ page: "stats", roomId: "3" });
    expect(parseRoute("/inbox")).toEqual({ page: "inbox" });
    expect(parseRoute("/rooms/1/other/2")).toEqual({ page: "notFound" });
    expect(parseRoute("/admin/x")).toEqual({ page: "notFound" });
  });
});

describe("time left on a card", () => {
  const NOW = Date.UTC(2026, 10, 30, 3, 0);
  const machine = (over: Partial<Machine>): Machine => ({
    id: "2",
    roomId: "1",
    name: "세탁기 2",
    type: "washer",
    status: "WASHING",
    course: null,
    cycleStartedAt: NOW - 20 * MIN,
    expectedEndAt: NOW + 30 * MIN,
    expectedEndRange: { low: NOW + 25 * MIN, high: NOW + 38 * MIN },
    lastSeenAt: NOW - 3 * MIN,
    online: true,
    outOfOrder: false,
    calibration: false,
    ...over,
  });

  it("counts whole minutes up to the expected end, with the range", () => {
    expect(timingOf(machine({ expectedEndAt: NOW + 30 * MIN - 1 }), null, NOW)).toEqual({
      running: true,
      minutesLeft: 30,
      range: { low: 25, high: 38 },
      soon: false,
    });
  });

  it("is finishing soon at five minutes left, or when the tick says it is overdue", () => {
    expect(timingOf(machine({ expectedEndAt: NOW + 5 * MIN }), null, NOW).soon).toBe(true);
    expect(timingOf(machine({ expectedEndAt: NOW + 6 * MIN }), null, NOW).soon).toBe(false);
    const room: Room = {
      id: "1",
      name: "r",
      timers: {
        "2": { status: "WASHING", remainingMinutes: 0, expectedEndAt: NOW, finishing: true },
      },
    };
    expect(timingOf(machine({ expectedEndAt: null }), room, NOW)).toMatchObject({
      minutesLeft: 0,
      soon: true,
    });
  });

  it("has no time left when idle, and never a negative one", () => {
    expect(timingOf(machine({ status: "FINISHED" }), null, NOW)).toEqual({
      running: false,
      minutesLeft: null,
      range: null,
      soon: false,
    });
    expect(timingOf(machine({ expectedEndAt: NOW - 10 * MIN }), null, NOW).minutesLeft).toBe(0);
  });
});
