/**
 * The PWA's budgets (issue: initial JavaScript ≤ 180 KB gzip; Lighthouse performance ≥ 90 and
 * accessibility ≥ 95 on a mobile profile), measured on the production build (web/dist):
 *
 * - JavaScript, gzip -9 of each file, from Vite's chunk graph (.vite/manifest.json):
 *   `initial` = what index.html loads (the sign-in page); `signedIn` = that plus the shell
 *   chunk a signed-in resident's first view imports (Firestore is in it).
 * - Lighthouse 12 (its default config: a mobile phone, simulated slow 4G and 4× CPU slowdown)
 *   in the same headless Chromium as the browser tests, against the local stack: the sign-in
 *   page signed out, and room 1's board signed in (storage kept between the sign-up and the
 *   audit). Scores are 0–100.
 *
 * `npm run bench:web` runs this alone and writes bench/web.json; `npm run bench` includes it.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { chromium } from "playwright-core";
import { ROOT, startStack } from "../stack/stack";

const DIST = path.join(ROOT, "web", "dist");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const BUDGET = { initialJsKb: 180, performance: 90, accessibility: 95 } as const;

interface ManifestChunk {
  file: string;
  imports?: string[];
  isEntry?: boolean;
}

const kb = (bytes: number) => Math.round((bytes / 1024) * 10) / 10;

/** Files of a chunk and its static imports, depth first. */
function closure(manifest: Record<string, ManifestChunk>, key: string, seen = new Set<string>()) {
  if (seen.has(key)) return seen;
  seen.add(key);
  for (const dep of manifest[key]?.imports ?? []) closure(manifest, dep, seen);
  return seen;
}

export function javascriptSizes() {
  const manifest = JSON.parse(
    readFileSync(path.join(DIST, ".vite", "manifest.json"), "utf8"),
  ) as Record<string, ManifestChunk>;
  const gz = (key: string) => {
    const file = manifest[key]?.file;
    if (!file) throw new Error(`no chunk ${key} in the Vite manifest`);
    return gzipSync(readFileSync(path.join(DIST, file)), { level: 9 }).length;
  };
  const initial = [...closure(manifest, "index.html")];
  const signedIn = [...closure(manifest, "src/shell.tsx", new Set(initial))];
  const sum = (keys: string[]) => keys.reduce((n, k) => n + gz(k), 0);
  return {
    initialGzipKb: kb(sum(initial)),
    signedInGzipKb: kb(sum(signedIn)),
    files: Object.fromEntries(
      Object.entries(manifest)
        .filter(([, c]) => c.file.endsWith(".js"))
        .map(([key, c]) => [c.file, { chunk: key, gzipKb: kb(gz(key)) }]),
    ),
  };
}

/** Headless Chromium with a DevTools port for Lighthouse (and Playwright over CDP). */
async function launchChromium(): Promise<{ port: number; stop: () => Promise<void> }> {
  const userDir = mkdtempSync(path.join(os.tmpdir(), "washcall-lighthouse-"));
  const child = spawn(
    CHROMIUM,
    [
      "--headless=new",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--no-first-run",
      "--remote-debugging-port=0",
      `--user-data-dir=${userDir}`,
      "about:blank",
    ],
    // Its own process group: stop() ends Chromium's helper processes too, which otherwise keep
    // writing to the profile directory while it is being removed.
    { stdio: ["ignore", "ignore", "pipe"], detached: true },
  );
  const port = await new Promise<number>((resolve, reject) => {
    let err = "";
    child.stderr.on("data", (b: Buffer) => {
      err += b.toString();
      const m = /DevTools listening on ws:\/\/[^:]+:(\d+)\//.exec(err);
      if (m) resolve(Number(m[1]));
    });
    child.once("exit", (code) => reject(new Error(`chromium exited (${code}): ${err}`)));
  });
  return {
    port,
    stop: async () => {
      const exited = new Promise((r) => child.once("exit", r));
      if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      await exited;
      rmSync(userDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    },
  };
}

interface LighthouseScores {
  performance: number;
  accessibility: number;
  /** First/Largest Contentful Paint and Total Blocking Time (simulated), ms. */
  fcpMs: number;
  lcpMs: number;
  tbtMs: number;
  /** Audits that failed accessibility, for the record. */
  failedAccessibility: string[];
}

async function audit(url: string, port: number): Promise<LighthouseScores> {
  const { default: lighthouse } = await import("lighthouse");
  const result = await lighthouse(url, {
    port,
    output: "json",
    logLevel: "error",
    onlyCategories: ["performance", "accessibility"],
    disableStorageReset: true,
  });
  if (!result) throw new Error(`Lighthouse returned nothing for ${url}`);
  const lhr = result.lhr;
  const score = (id: string) => Math.round((lhr.categories[id]?.score ?? 0) * 100);
  const ms = (id: string) => Math.round(lhr.audits[id]?.numericValue ?? -1);
  const failed = (lhr.categories.accessibility?.auditRefs ?? [])
    .filter((ref) => {
      const a = lhr.audits[ref.id];
      return ref.weight > 0 && a !== undefined && a.score !== null && a.score < 1;
    })
    .map((ref) => ref.id);
  return {
    performance: score("performance"),
    accessibility: score("accessibility"),
    fcpMs: ms("first-contentful-paint"),
    lcpMs: ms("largest-contentful-paint"),
    tbtMs: ms("total-blocking-time"),
    failedAccessibility: failed,
  };
}

export interface WebFigures {
  budget: typeof BUDGET;
  javascript: ReturnType<typeof javascriptSizes>;
  lighthouse: { signedOut: LighthouseScores; board: LighthouseScores };
}

export async function benchWeb(): Promise<WebFigures> {
  const js = javascriptSizes();
  const stack = await startStack({
    firestorePort: 0,
    functionsPort: 0,
    hostingPort: 0,
    schedules: false,
    log: { info: () => undefined, error: () => undefined },
  });
  const chrome = await launchChromium();
  try {
    const webUrl = stack.webUrl;
    if (!webUrl) throw new Error("the stack serves no PWA");
    const signedOut = await audit(`${webUrl}/`, chrome.port);
    // Sign up in the same browser profile, then audit the board with that session.
    const browser = await chromium.connectOverCDP(`http://127.0.0.1:${chrome.port}`);
    const page = await browser.contexts()[0].newPage();
    await page.goto(`${webUrl}/`);
    await page.getByRole("button", { name: "처음이세요? 회원가입" }).click();
    await page.getByLabel("이메일 또는 학번").fill(`bench-${Date.now()}@example.com`);
    await page.getByLabel("비밀번호").fill("bench-pass-1");
    await page.getByRole("button", { name: "가입하기" }).click();
    await page.locator("article.machine").first().waitFor();
    await page.close();
    const board = await audit(`${webUrl}/rooms/1`, chrome.port);
    await browser.close();
    return { budget: BUDGET, javascript: js, lighthouse: { signedOut, board } };
  } finally {
    await chrome.stop();
    await stack.stop();
  }
}

async function main() {
  const results = await benchWeb();
  mkdirSync(path.join(ROOT, "bench"), { recursive: true });
  writeFileSync(path.join(ROOT, "bench", "web.json"), `${JSON.stringify(results, null, 2)}\n`);
  console.log(
    `PWA: initial JS ${results.javascript.initialGzipKb} KB gzip; Lighthouse sign-in ${results.lighthouse.signedOut.performance}/${results.lighthouse.signedOut.accessibility}, board ${results.lighthouse.board.performance}/${results.lighthouse.board.accessibility} → bench/web.json`,
  );
  process.exit(0);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
