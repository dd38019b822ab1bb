/**
 * `npm start` keeps its data across a restart: the stack is stopped in the middle of a cycle and
 * started again on the same data folder; the cycle then finishes and its watcher is told once.
 * The stack runs as its own process (tools/stack/start.ts), exactly as `npm start` runs it; the
 * Auth emulator is the test run's (its accounts outlive the stack anyway).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../../tools/stack/firestore";
import { ROOT } from "../../tools/stack/stack";
import { type TestUser, bearer, signUpUser } from "../support/auth";

const dataDir = mkdtempSync(path.join(os.tmpdir(), "washcall-restart-"));
let child: ChildProcess | null = null;

afterAll(async () => {
  if (child) await stop(child);
  rmSync(dataDir, { recursive: true, force: true });
});

interface Running {
  process: ChildProcess;
  deviceUrl: string;
  apiUrl: string;
}

/** `npm start` (without the build, which `npm test` did) on its own ports and `dataDir`. */
async function start(firestorePort: number, functionsPort: number): Promise<Running> {
  const p = spawn(process.execPath, ["--import", "tsx", "tools/stack/start.ts"], {
    cwd: ROOT,
    env: {
      ...process.env,
      FIRESTORE_EMULATOR_HOST: "",
      WASHCALL_FIRESTORE_PORT: String(firestorePort),
      WASHCALL_FUNCTIONS_PORT: String(functionsPort),
      WASHCALL_DATA_DIR: dataDir,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child = p;
  let out = "";
  await new Promise<void>((resolve, reject) => {
    const onData = (b: Buffer) => {
      out += b.toString();
      if (out.includes("Press Ctrl-C to stop.")) resolve();
    };
    p.stdout?.on("data", onData);
    p.stderr?.on("data", (b: Buffer) => (out += b.toString()));
    p.once("exit", (code) => reject(new Error(`stack exited (${code}) before ready:\n${out}`)));
  });
  const device = /device function\s+(\S+)\/update/.exec(out)?.[1];
  const api = /api function\s+(\S+)\/…/.exec(out)?.[1];
  if (!device || !api) throw new Error(`no URLs in:\n${out}`);
  return { process: p, deviceUrl: device, apiUrl: api };
}

/** Ctrl-C, as a person stops `npm start`; resolves when the process has exited. */
async function stop(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise<void>((r) => p.once("exit", () => r()));
  p.kill("SIGINT");
  await exited;
  child = null;
}

async function api(s: Running, user: TestUser, method: string, route: string, body?: unknown) {
  const res = await fetch(`${s.apiUrl}${route}`, {
    method,
    headers: { "content-type": "application/json", ...bearer(user) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function report(s: Running, machine: number, status: string, timestamp: number) {
  const res = await fetch(`${s.deviceUrl}/update`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      machine_id: machine,
      secret_key: `demo-secret-${machine}`,
      status,
      timestamp,
    }),
  });
  expect(res.status).toBe(200);
}

/** Polls `/load` (what the PWA would see) until `machine` shows `status`; bounded. */
async function untilStatus(s: Running, user: TestUser, machine: number, status: string) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const list = (await api(s, user, "POST", "/load")).body.machine_list as {
      machine_id: number;
      status: string;
    }[];
    if (list.find((m) => m.machine_id === machine)?.status === status) return;
    if (Date.now() > deadline) throw new Error(`machine ${machine} never showed ${status}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("npm start keeps local data across a restart", () => {
  it("a cycle started before the restart finishes after it, and its watcher is told once", async () => {
    const [fsPort, fnPort] = [await freePort(), await freePort()];
    const user = await signUpUser("restart-watcher");
    const t = Math.floor(Date.now() / 1000) - 3600;

    let stack = await start(fsPort, fnPort);
    expect(
      (await api(stack, user, "POST", "/notify_me", { machine_id: 2, isusing: 1 })).status,
    ).toBe(200);
    await report(stack, 2, "WASHING", t);
    await untilStatus(stack, user, 2, "WASHING");
    await stop(stack.process);

    stack = await start(fsPort, fnPort);
    // Everything is where it was: the running cycle and the watch.
    const load = (await api(stack, user, "POST", "/load")).body.machine_list as {
      machine_id: number;
      status: string;
      isusing: number;
    }[];
    expect(load.find((m) => m.machine_id === 2)).toMatchObject({ status: "WASHING", isusing: 1 });

    await report(stack, 2, "SPINNING", t + 30 * 60);
    await report(stack, 2, "FINISHED", t + 40 * 60);
    await untilStatus(stack, user, 2, "FINISHED");
    // A later report of another machine: the stack delivers one trigger at a time, so once it
    // shows, everything before it (the FINISHED's notifications) is done.
    await report(stack, 3, "WASHING", t + 41 * 60);
    await untilStatus(stack, user, 3, "WASHING");

    const inbox = await api(stack, user, "GET", "/notifications");
    const entries = inbox.body.notifications as { type: string; machine_id?: unknown }[];
    expect(entries.map((n) => n.type)).toEqual(["finished"]);
    await stop(stack.process);
  });
});
