/**
 * The resident PWA end to end, in headless Chromium against the local stack (web/dist served as
 * `npm start` serves it, the web SDK on the local Firestore, the Auth emulator, the api and
 * device functions, the report trigger): what a resident and an admin do, with a device
 * modelled as the real firmware reports (state changes only, legacy secret_key).
 */
import { getAuth } from "firebase-admin/auth";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  type PwaBrowser,
  launchPwaBrowser,
  machineCard,
  signInInPage,
  signUpInPage,
} from "../support/pwa";
import { type E2eStack, postUpdate, resetStack, startE2eStack } from "./support";

let e: E2eStack;
let pwa: PwaBrowser;
let webUrl: string;
let clockS = Math.floor(Date.now() / 1000) - 3600;
let n = 0;
const email = (who: string) => `${who}-${process.pid}-${++n}-${Date.now()}@example.com`;

/** One firmware report (state change) through the device function; resolves once applied. */
async function report(machineId: number, status: string): Promise<number> {
  clockS += 60;
  const reply = await postUpdate(e, {
    machine_id: machineId,
    status,
    timestamp: clockS,
    machine_type: "washer",
  });
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  await e.stack.dispatcher.idle();
  return Date.now();
}

beforeAll(async () => {
  e = await startE2eStack();
  if (!e.stack.webUrl) throw new Error("the stack serves no PWA");
  webUrl = e.stack.webUrl;
  pwa = await launchPwaBrowser(webUrl);
});

afterAll(async () => {
  await pwa?.close();
  await e?.stop();
});

beforeEach(async () => {
  await resetStack(e);
  clockS = Math.floor(Date.now() / 1000) - 3600;
});

describe("the resident PWA", { timeout: 120_000 }, () => {
  it("a new resident signs up, sees six machines, watches machine 2, sees it finish live, reads the one notification and signs out", async () => {
    const { page, context, errors } = await pwa.open();
    await signUpInPage(page, email("resident"));
    await expect.poll(() => page.locator("article.machine").count()).toBe(6);
    await expect
      .poll(() => page.getByRole("heading", { level: 1 }).textContent())
      .toBe("1번 세탁실");

    const card = machineCard(page, "2");
    await card.getByRole("button", { name: "끝나면 알림" }).click();
    await card.getByRole("button", { name: "알림 취소" }).waitFor();

    await report(2, "WASHING");
    await expect.poll(() => card.getAttribute("data-status")).toBe("WASHING");
    expect(await card.getByTestId("status").textContent()).toBe("세탁 중");
    await expect.poll(() => card.getByTestId("time-left").textContent()).toMatch(/분 남음/);

    const appliedAt = await report(2, "FINISHED");
    await page.waitForFunction(
      () =>
        document.querySelector('article[data-machine="2"]')?.getAttribute("data-status") ===
        "FINISHED",
      undefined,
      { polling: "raf", timeout: 15_000 },
    );
    const visibleAfter = Date.now() - appliedAt;
    expect(
      visibleAfter,
      `the board showed FINISHED ${visibleAfter} ms after the report was applied`,
    ).toBeLessThan(2000);
    expect(await card.getByTestId("status").textContent()).toBe("완료");

    // The badge counts the one notification; reading it clears the badge.
    await expect.poll(() => page.getByTestId("unread-badge").textContent()).toBe("1");
    await page
      .getByRole("navigation")
      .getByRole("link", { name: /알림함/ })
      .click();
    const entries = page.getByTestId("notification");
    await expect.poll(() => entries.count()).toBe(1);
    expect(await entries.first().textContent()).toContain("세탁기 2");
    await entries.first().getByRole("button", { name: "읽음", exact: true }).click();
    await page.getByTestId("unread-badge").waitFor({ state: "detached" });
    expect(await entries.count()).toBe(1);

    // Signing out leads back to the sign-in page.
    await page.getByRole("navigation").getByRole("link", { name: "내 정보" }).click();
    await page.getByRole("button", { name: "로그아웃" }).click();
    await page.getByRole("heading", { name: "로그인" }).waitFor();
    expect(errors).toEqual([]);
    await context.close();
  });

  it("two residents queue; when the only machine finishes the first in line is offered it and claims it", async () => {
    // Machines 2–6 out of order: machine 1 is the only one, and it is running.
    for (const id of ["2", "3", "4", "5", "6"])
      await e.db.doc(`machines/${id}`).update({ outOfOrder: true });
    await report(1, "WASHING");

    const first = await pwa.open();
    const second = await pwa.open();
    await signUpInPage(first.page, email("first"));
    await signUpInPage(second.page, email("second"));
    await first.page.getByRole("button", { name: "줄 서기" }).click();
    await expect
      .poll(() => first.page.getByTestId("queue-position").textContent())
      .toContain("1번째");
    await second.page.getByRole("button", { name: "줄 서기" }).click();
    await expect
      .poll(() => second.page.getByTestId("queue-position").textContent())
      .toContain("2번째");

    const finishedAt = await report(1, "FINISHED");
    const offer = first.page.getByTestId("offer");
    await offer.waitFor({ timeout: 15_000 });
    expect(await offer.textContent()).toContain("세탁기 1 차례예요!");
    // The second resident's page has the server's view from after the FINISHED: no offer there.
    await expect
      .poll(async () =>
        Number(await second.page.locator("section.queue").getAttribute("data-as-of")),
      )
      .toBeGreaterThan(finishedAt - 1000);
    expect(await second.page.getByTestId("offer").count()).toBe(0);
    await expect
      .poll(() => second.page.getByTestId("queue-position").textContent())
      .toContain("2번째");

    await offer.getByRole("button", { name: "이 기계 쓸게요" }).click();
    await first.page.getByRole("button", { name: "줄 서기" }).waitFor();
    expect(await first.page.getByTestId("offer").count()).toBe(0);
    expect([...first.errors, ...second.errors]).toEqual([]);
    await first.context.close();
    await second.context.close();
  });

  it("an admin adds a device and sees its secret once, and that secret authenticates the board", async () => {
    const adminEmail = email("admin");
    const password = "admin-pass-1";
    const user = await getAuth().createUser({ email: adminEmail, password });
    await getAuth().setCustomUserClaims(user.uid, { admin: true });
    const { page, context, errors } = await pwa.open();
    await signInInPage(page, adminEmail, password);
    await page.getByRole("navigation").getByRole("link", { name: "관리" }).click();

    const form = page.getByRole("form", { name: "기계 추가" });
    await form.getByLabel("기계 번호").fill("7");
    await form.getByLabel("기계 이름").fill("세탁기 7");
    await form.getByRole("button", { name: "추가" }).click();
    const shown = page.getByTestId("secret-once");
    await shown.waitFor();
    const secret = (await shown.getByTestId("secret-key").textContent()) ?? "";
    expect(secret.length).toBeGreaterThanOrEqual(20);
    expect(await shown.textContent()).toContain("MACHINE_ID = 7");

    // The secret works for the device…
    const reply = await postUpdate(e, {
      machine_id: 7,
      secret_key: secret,
      status: "WASHING",
      timestamp: clockS + 60,
    });
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    await e.stack.dispatcher.idle();
    // …and is shown only once: after closing it (or reloading) it is nowhere on the page.
    await shown.getByRole("button", { name: "닫기" }).click();
    expect(await page.content()).not.toContain(secret);
    await page.reload();
    await page.getByRole("heading", { name: "관리", level: 1 }).waitFor();
    await page.locator('li[data-machine="7"]').waitFor();
    expect(await page.content()).not.toContain(secret);
    expect(errors).toEqual([]);
    await context.close();
  });

  it("a student number signs in where the site allows it, and cannot be claimed by signing up", async () => {
    const number = String(20_000_000 + (process.pid % 1_000_000) + ++n);
    await getAuth().createUser({
      email: `${number}@students.washcall.local`,
      password: "student-1",
    });
    const { page, context, errors } = await pwa.open();
    await page.getByRole("button", { name: "처음이세요? 회원가입" }).click();
    await page.getByLabel("이메일 또는 학번").fill(number);
    await page.getByLabel("비밀번호").fill("someone-else");
    await page.getByRole("button", { name: "가입하기" }).click();
    expect(await page.getByRole("alert").textContent()).toContain("관리자가 만들어요");
    await page.getByRole("button", { name: "이미 계정이 있어요? 로그인" }).click();
    await signInInPage(page, number, "student-1");
    await page.getByRole("navigation").getByRole("link", { name: "내 정보" }).click();
    expect(await page.getByText(`${number}@students.washcall.local`).count()).toBe(1);
    expect(errors).toEqual([]);
    await context.close();
  });

  it("the service worker shows a push as a notification carrying the machine's page, that page brings the machine forward, and the app opens offline", async () => {
    const { page, context, errors } = await pwa.open({ permissions: ["notifications"] });
    await signUpInPage(page, email("push"));
    // `ready` resolves while the worker may still be activating: wait until it is activated.
    await page.evaluate(async () => {
      const worker = (await navigator.serviceWorker.ready).active!;
      if (worker.state === "activated") return;
      await new Promise<void>((resolve) => {
        worker.addEventListener("statechange", () => {
          if (worker.state === "activated") resolve();
        });
      });
    });

    // Deliver a push as FCM would (payload of toFcmMessage's webpush), through DevTools.
    const cdp = await context.newCDPSession(page);
    const registrationId = await new Promise<string>((resolve) => {
      cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        (ev: { registrations: { registrationId: string; scopeURL: string }[] }) => {
          const reg = ev.registrations.find((r) => r.scopeURL.startsWith(webUrl));
          if (reg) resolve(reg.registrationId);
        },
      );
      void cdp.send("ServiceWorker.enable");
    });
    await cdp.send("ServiceWorker.deliverPushMessage", {
      origin: webUrl,
      registrationId,
      data: JSON.stringify({
        notification: { title: "세탁기 2 세탁 완료", body: "빨래를 꺼내 주세요" },
        data: {
          machineId: "2",
          roomId: "1",
          type: "finished",
          link: `${webUrl}/rooms/1/machines/2`,
        },
      }),
    });
    await expect
      .poll(() =>
        page.evaluate(async () => {
          const reg = await navigator.serviceWorker.ready;
          return (await reg.getNotifications()).map((x) => ({
            title: x.title,
            tag: x.tag,
            data: x.data as unknown,
          }));
        }),
      )
      .toEqual([
        { title: "세탁기 2 세탁 완료", tag: "machine-2", data: { url: "/rooms/1/machines/2" } },
      ]);

    // Where the notification leads: the board with machine 2 brought forward.
    await page.goto(`${webUrl}/rooms/1/machines/2`);
    await page.waitForFunction(() => document.activeElement?.getAttribute("data-machine") === "2");

    // Offline: the shell still opens (index.html, scripts, config from the worker's cache).
    await context.setOffline(true);
    await page.reload();
    await page.getByRole("link", { name: "WashCall" }).waitFor();
    await context.setOffline(false);
    expect(errors).toEqual([]);
    await context.close();
  });
});
