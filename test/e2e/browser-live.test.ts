/**
 * The product's live path in a real browser: a page of the web SDK (headless Chromium, the
 * local stack's Firestore on its one port) holds three listeners a resident's board would hold
 * — the machine, its room's machines, the machines now washing — and a device report posted to
 * the `device` function reaches all three, through the report trigger, within two seconds.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { openBrowser, type SeenEvent, type TestBrowser } from "../support/browser";
import { PROJECT_ID } from "../support/firestore";
import { type E2eStack, postUpdate, resetStack, startE2eStack, waitFor } from "./support";

let e: E2eStack;
let browser: TestBrowser | null = null;

beforeAll(async () => {
  e = await startE2eStack();
});

afterAll(async () => {
  await browser?.close();
  await e?.stop();
});

beforeEach(async () => {
  await resetStack(e);
});

type Wc = { wc: Record<string, (...a: unknown[]) => unknown> };

const statusOf = (ev: SeenEvent): unknown => {
  const data = ev.data as Record<string, { status?: string }> & { status?: string };
  return ev.key === "machine" ? data?.status : data?.["1"]?.status;
};

describe("live board in a browser", () => {
  it("shows a device report in three listeners of one page within two seconds", async () => {
    const b = (browser = await openBrowser({ projectId: PROJECT_ID, user: "resident-1" }));
    await b.page.evaluate(() => {
      const wc = (globalThis as unknown as Wc).wc;
      wc.listenDoc("machine", "machines/1");
      wc.listenQuery("room", "machines", "roomId", "1");
      wc.listenQuery("washing", "machines", "status", "WASHING");
    });
    await waitFor("three server snapshots", async () => {
      const ev = await b.events();
      return ["machine", "room", "washing"].every((k) =>
        ev.some((x) => x.key === k && !x.fromCache),
      );
    });

    const reply = await postUpdate(e, {
      machine_id: 1,
      status: "WASHING",
      machine_type: "washer",
      timestamp: Math.floor(Date.now() / 1000),
    });
    expect(reply.status).toBe(200);
    const reportedAt = Date.now();

    const seen = new Map<string, number>();
    await waitFor("every listener to show machine 1 washing", async () => {
      for (const ev of await b.events()) {
        if (!seen.has(ev.key) && statusOf(ev) === "WASHING") seen.set(ev.key, ev.at);
      }
      return seen.size === 3;
    });
    for (const [key, at] of seen) {
      expect(
        at - reportedAt,
        `${key} saw the report ${at - reportedAt} ms after it was accepted`,
      ).toBeLessThan(2000);
    }
    expect(await b.errors()).toEqual([]);
  });
});
