/**
 * Conformance: the Firebase web SDK in a real browser (headless Chromium) against
 * FIRESTORE_EMULATOR_HOST on the one port that also serves gRPC: live snapshots over the
 * WebChannel Listen stream (streaming and long-polling), writes over the Write stream, counts
 * and transactions over REST, all cross-origin from the page.
 */
import { afterEach, describe, expect, it } from "vitest";
import { openBrowser, type SeenEvent, type TestBrowser } from "../support/browser";
import { PROJECT_ID } from "../support/firestore";
import { adminDb, Waiter } from "./support";

let browser: TestBrowser | null = null;
afterEach(async () => {
  await browser?.close();
  browser = null;
});

/** Polls the page until `check` holds for its events. */
async function until(b: TestBrowser, check: (events: SeenEvent[]) => boolean, what: string) {
  const waiter = new Waiter();
  let events: SeenEvent[] = [];
  await waiter.until(
    () => check(events),
    what,
    15_000,
    async () => {
      events = await b.events();
    },
  );
  return events;
}

const latest = (events: SeenEvent[], key: string) =>
  events.filter((e) => e.key === key && !e.fromCache).at(-1)?.data;

describe.each([
  { mode: "streaming", longPolling: false },
  { mode: "long-polling", longPolling: true },
])("the web SDK in Chromium ($mode)", ({ longPolling }) => {
  it("gets live snapshots for three listeners, writes, counts and runs a transaction", async () => {
    const db = adminDb();
    await db.doc("conformance-web/m1").set({ state: "IDLE" });
    const b = (browser = await openBrowser({ projectId: PROJECT_ID, longPolling, user: "owner" }));
    await b.page.evaluate(() => {
      const wc = (globalThis as unknown as { wc: Record<string, (...a: unknown[]) => unknown> }).wc;
      wc.listenDoc("doc", "conformance-web/m1");
      wc.listenQuery("all", "conformance-web");
      wc.listenQuery("running", "conformance-web", "state", "RUNNING");
    });
    let events = await until(
      b,
      (ev) => ["doc", "all", "running"].every((k) => latest(ev, k) !== undefined),
      "three first snapshots",
    );
    expect(latest(events, "doc")).toEqual({ state: "IDLE" });
    expect(latest(events, "running")).toEqual({});

    await db.doc("conformance-web/m1").update({ state: "RUNNING" });
    events = await until(
      b,
      (ev) => (latest(ev, "running") as Record<string, unknown> | undefined)?.m1 !== undefined,
      "the update in every listener",
    );
    expect(latest(events, "doc")).toEqual({ state: "RUNNING" });
    expect(latest(events, "all")).toEqual({ m1: { state: "RUNNING" } });

    // A browser write goes over the Write stream and comes back to the listeners.
    await b.page.evaluate(() =>
      (globalThis as unknown as { wc: { write(p: string, d: object): Promise<void> } }).wc.write(
        "conformance-web/m2",
        { state: "RUNNING", from: "browser" },
      ),
    );
    expect((await db.doc("conformance-web/m2").get()).data()).toEqual({
      state: "RUNNING",
      from: "browser",
    });
    events = await until(
      b,
      (ev) => Object.keys((latest(ev, "running") as object | undefined) ?? {}).length === 2,
      "the browser's write",
    );

    // Deletes reach the document listener (as missing) and the queries.
    await db.doc("conformance-web/m1").delete();
    events = await until(b, (ev) => latest(ev, "doc") === null, "the delete");
    expect(latest(events, "running")).toEqual({ m2: { state: "RUNNING", from: "browser" } });

    type Rest = {
      wc: { count(p: string): Promise<number>; increment(p: string, f: string): Promise<number> };
    };
    expect(
      await b.page.evaluate(() => (globalThis as unknown as Rest).wc.count("conformance-web")),
    ).toBe(1);
    expect(
      await b.page.evaluate(() =>
        (globalThis as unknown as Rest).wc.increment("conformance-web/m2", "n"),
      ),
    ).toBe(1);
    expect((await db.doc("conformance-web/m2").get()).get("n")).toBe(1);
    expect(await b.errors()).toEqual([]);
  });
});
