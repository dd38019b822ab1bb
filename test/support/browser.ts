/**
 * A real browser for tests: Debian's Chromium (CHROMIUM_PATH, default /usr/bin/chromium;
 * `.ci/run` installs it) driven by playwright-core, headless, with a page that loads the
 * Firebase web SDK bundled from browser/page.ts and served from its own origin (so every call
 * to Firestore is cross-origin, as from the PWA).
 */
import { build } from "esbuild";
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import type { SeenEvent } from "./browser/page";

export type { SeenEvent };

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

let bundle: Promise<string> | null = null;

function pageScript(): Promise<string> {
  bundle ??= build({
    entryPoints: [path.join(__dirname, "browser", "page.ts")],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2020",
    write: false,
    logLevel: "silent",
  }).then((r) => r.outputFiles[0].text);
  return bundle;
}

export interface TestBrowser {
  page: Page;
  /** Everything the page's listeners saw so far. */
  events(): Promise<SeenEvent[]>;
  errors(): Promise<string[]>;
  close(): Promise<void>;
}

/** Opens the test page in headless Chromium with the web SDK connected to FIRESTORE_EMULATOR_HOST. */
export async function openBrowser(opts: {
  projectId: string;
  longPolling?: boolean;
  /** "owner" (rules skipped by the real emulator) or the uid of a signed-in user. */
  user: string;
}): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`,
    );
  }
  const script = await pageScript();
  const server: Server = createServer((req, res) => {
    if (req.url === "/page.js") {
      res.writeHead(200, { "Content-Type": "text/javascript" }).end(script);
      return;
    }
    res
      .writeHead(200, { "Content-Type": "text/html; charset=utf-8" })
      .end(
        '<!doctype html><meta charset="utf-8"><title>wc</title><script type="module" src="/page.js"></script>',
      );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const origin = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  const page = await browser.newPage();
  await page.goto(`${origin}/`);
  await page.waitForFunction(() => "wc" in globalThis);
  const [host, port] = (process.env.FIRESTORE_EMULATOR_HOST ?? "").split(":");
  await page.evaluate(
    (o) => (globalThis as unknown as { wc: { init(o: unknown): void } }).wc.init(o),
    {
      projectId: opts.projectId,
      host: host,
      port: Number(port),
      longPolling: opts.longPolling ?? false,
      user: opts.user,
    },
  );
  type Wc = { wc: { events: SeenEvent[]; errors: string[] } };
  return {
    page,
    events: () => page.evaluate(() => [...(globalThis as unknown as Wc).wc.events]),
    errors: () => page.evaluate(() => [...(globalThis as unknown as Wc).wc.errors]),
    close: async () => {
      await browser.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
