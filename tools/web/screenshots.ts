/**
 * `npm run screenshots`: phone-sized screenshots of the PWA's main screens for docs/screenshots/,
 * taken against a fresh local stack whose state comes from real traffic: firmware reports over
 * the past days (history, congestion, course estimates), machines running now, a resident who
 * watches and queues, an admin who adds a device.
 */
import { getAuth } from "firebase-admin/auth";
import { getFirestore } from "firebase-admin/firestore";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";
import { ROOT, startStack } from "../stack/stack";

const OUT = path.join(ROOT, "docs", "screenshots");
const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true };

async function main() {
  mkdirSync(OUT, { recursive: true });
  // Two weeks of reports are replayed in seconds: rate limits a real board never reaches.
  process.env.DEVICE_REQUESTS_PER_SECOND = "1000000000";
  const stack = await startStack({
    firestorePort: 0,
    functionsPort: 0,
    hostingPort: 0,
    schedules: false,
    log: { info: () => undefined, error: (m, c) => console.error(m, c) },
  });
  const webUrl = stack.webUrl!;
  const report = async (machine: number, status: string, at: number) => {
    const res = await fetch(`${stack.deviceUrl}/update`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        machine_id: machine,
        secret_key: `demo-secret-${machine}`,
        status,
        machine_type: "washer",
        timestamp: Math.floor(at / 1000),
      }),
    });
    if (res.status !== 200) throw new Error(`report ${machine} ${status}: ${await res.text()}`);
    await stack.dispatcher.idle();
  };
  const now = Date.now();
  const MIN = 60_000;
  // History: two weeks of evening and weekend cycles on the washers and dryers.
  for (let day = 14; day >= 1; day--) {
    for (const [machine, hour, minutes] of [
      [1, 19, 52],
      [2, 20, 47],
      [3, 21, 55],
      [5, 20, 61],
      [1, 9 + (day % 3), 49],
    ] as const) {
      const start = now - day * 24 * 60 * MIN + (hour - 12) * 60 * MIN;
      if (machine === 5) {
        await report(machine, "DRYING", start);
      } else {
        await report(machine, "WASHING", start);
        await report(machine, "SPINNING", start + (minutes - 12) * MIN);
      }
      await report(machine, "FINISHED", start + minutes * MIN);
    }
  }
  // Now: 1 washing, 2 spinning, 5 drying, 3 just finished, 4 out of order.
  await report(1, "WASHING", now - 18 * MIN);
  await report(2, "WASHING", now - 41 * MIN);
  await report(2, "SPINNING", now - 3 * MIN);
  await report(5, "DRYING", now - 25 * MIN);
  await report(3, "WASHING", now - 55 * MIN);
  await report(3, "FINISHED", now - 4 * MIN);
  await getFirestore().doc("machines/4").update({ outOfOrder: true });

  const adminEmail = "admin@washcall.local";
  const admin = await getAuth().createUser({ email: adminEmail, password: "admin-pass-1" });
  await getAuth().setCustomUserClaims(admin.uid, { admin: true });

  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu"],
  });
  try {
    const ctx = await browser.newContext(PHONE);
    const page = await ctx.newPage();
    const shot = (name: string) => page.screenshot({ path: path.join(OUT, `${name}.png`) });
    await page.goto(webUrl);
    await page.getByRole("heading", { name: "로그인" }).waitFor();
    await page.getByLabel("이메일 또는 학번").fill("20231234");
    await shot("signin");
    await page.getByRole("button", { name: "처음이세요? 회원가입" }).click();
    await page.getByLabel("이메일 또는 학번").fill("resident@washcall.local");
    await page.getByLabel("비밀번호").fill("resident-1");
    await page.getByRole("button", { name: "가입하기" }).click();
    await page.locator("article.machine").nth(5).waitFor();
    await page
      .locator('article[data-machine="1"]')
      .getByRole("button", { name: "끝나면 알림" })
      .click();
    await page
      .locator('article[data-machine="1"]')
      .getByRole("button", { name: "알림 취소" })
      .waitFor();
    await page.getByRole("button", { name: "줄 서기" }).click();
    await page.getByTestId("queue-position").waitFor();
    await report(2, "FINISHED", Date.now());
    await page.getByTestId("tip").filter({ hasNotText: "불러오는 중" }).waitFor();
    await page.waitForTimeout(500);
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot("board");
    await page.goto(`${webUrl}/rooms/1/machines/1`);
    await page.waitForFunction(() => document.activeElement?.getAttribute("data-machine") === "1");
    await page.waitForTimeout(300);
    await shot("machine");
    await page
      .getByRole("navigation")
      .getByRole("link", { name: /알림함/ })
      .click();
    await page.getByTestId("notification").first().waitFor();
    await shot("inbox");
    await page.getByRole("navigation").getByRole("link", { name: "통계" }).click();
    await page.locator("table.heat").waitFor();
    await page.waitForTimeout(300);
    await shot("stats");
    await page.getByRole("navigation").getByRole("link", { name: "내 정보" }).click();
    await shot("me");
    await ctx.close();

    const adminCtx = await browser.newContext(PHONE);
    const ap = await adminCtx.newPage();
    await ap.goto(webUrl);
    await ap.getByLabel("이메일 또는 학번").fill(adminEmail);
    await ap.getByLabel("비밀번호").fill("admin-pass-1");
    await ap.getByRole("button", { name: "로그인", exact: true }).click();
    await ap.getByRole("navigation").getByRole("link", { name: "관리" }).click();
    const form = ap.getByRole("form", { name: "기계 추가" });
    await form.getByLabel("기계 번호").fill("7");
    await form.getByLabel("기계 이름").fill("세탁기 7");
    // The demo's public secret (as the seeded machines have): no real secret in a picture.
    await form.getByLabel(/기기 비밀키/).fill("demo-secret-7");
    await form.getByRole("button", { name: "추가" }).click();
    await ap.getByTestId("secret-once").waitFor();
    await ap.evaluate(() => window.scrollTo(0, 0));
    await ap.screenshot({ path: path.join(OUT, "admin.png") });
    await adminCtx.close();
  } finally {
    await browser.close();
    await stack.stop();
  }
  console.log(`screenshots in ${path.relative(ROOT, OUT)}`);
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
