/**
 * The resident PWA (web/dist, served by the local stack) in headless Chromium, as a person
 * uses it: a phone-sized page per resident (each its own browser context: own sign-in, own
 * storage), driven through roles and labels the way a screen reader sees it.
 */
import { existsSync } from "node:fs";
import { type Browser, type BrowserContext, type Page, chromium } from "playwright-core";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export const PHONE = {
  viewport: { width: 390, height: 844 },
  deviceScaleFactor: 2,
  isMobile: true,
  hasTouch: true,
} as const;

export interface PwaBrowser {
  browser: Browser;
  /** A new resident: a fresh context (storage, service worker) on the PWA's URL. */
  open(opts?: {
    permissions?: string[];
  }): Promise<{ context: BrowserContext; page: Page; errors: string[] }>;
  close(): Promise<void>;
}

export async function launchPwaBrowser(webUrl: string): Promise<PwaBrowser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`,
    );
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  return {
    browser,
    async open(opts = {}) {
      const context = await browser.newContext({ ...PHONE, locale: "ko-KR" });
      if (opts.permissions) await context.grantPermissions(opts.permissions, { origin: webUrl });
      const page = await context.newPage();
      const errors: string[] = [];
      page.on("pageerror", (err) => errors.push(err.message));
      await page.goto(webUrl);
      return { context, page, errors };
    },
    close: () => browser.close(),
  };
}

/** Signs up through the sign-in page's "create account" form; resolves on the board. */
export async function signUpInPage(page: Page, email: string, password = "laundry-1234") {
  await page.getByRole("button", { name: "처음이세요? 회원가입" }).click();
  await page.getByLabel("이메일 또는 학번").fill(email);
  await page.getByLabel("비밀번호").fill(password);
  await page.getByRole("button", { name: "가입하기" }).click();
  await page.getByRole("navigation").waitFor();
}

/** Signs in with an existing account; resolves when the app's navigation shows. */
export async function signInInPage(page: Page, email: string, password: string) {
  await page.getByLabel("이메일 또는 학번").fill(email);
  await page.getByLabel("비밀번호").fill(password);
  await page.getByRole("button", { name: "로그인", exact: true }).click();
  await page.getByRole("navigation").waitFor();
}

/** The card of one machine on the board. */
export const machineCard = (page: Page, id: string) =>
  page.locator(`article[data-machine="${id}"]`);
