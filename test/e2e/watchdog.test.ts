/**
 * tools/stack/watchdog.ts: an emulator started by `npm start` must not outlive it, even when
 * `npm start` is killed with SIGKILL (it cannot clean up then; the watchdog notices its stdin
 * close and stops the emulator's whole process group).
 */
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../../tools/stack/stack";

const WATCHDOG = path.join(ROOT, "tools", "stack", "watchdog.ts");

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Resolves once `check` holds; polls, and gives up (throws) after `timeoutMs`. */
async function until(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A stand-in for `npm start`: starts the watchdog over a long-running "emulator". */
function fakeStart(): { parent: ChildProcess; emulatorPid: Promise<number> } {
  const emulator = `console.log("PID " + process.pid); setInterval(() => {}, 1000);`;
  const parentScript = `
    const { spawn } = require("node:child_process");
    const w = spawn(process.execPath, ["--import", "tsx", ${JSON.stringify(WATCHDOG)},
      process.execPath, "-e", ${JSON.stringify(emulator)}], { stdio: ["pipe", "inherit", "inherit"] });
    setInterval(() => {}, 1000);`;
  const parent = spawn(process.execPath, ["-e", parentScript], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const emulatorPid = new Promise<number>((resolve, reject) => {
    let out = "";
    parent.stdout?.on("data", (b: Buffer) => {
      out += b.toString();
      const m = /PID (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    parent.once("exit", () => reject(new Error(`parent exited early: ${out}`)));
  });
  return { parent, emulatorPid };
}

describe("watchdog", () => {
  it("stops the emulator when npm start is killed with SIGKILL", async () => {
    const { parent, emulatorPid } = fakeStart();
    const pid = await emulatorPid;
    expect(alive(pid)).toBe(true);
    parent.kill("SIGKILL");
    await until(`emulator ${pid} to exit`, () => !alive(pid));
    expect(alive(pid)).toBe(false);
  });

  it("stops the emulator on SIGTERM (a normal stop) and exits", async () => {
    const watchdog = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        WATCHDOG,
        process.execPath,
        "-e",
        `console.log("PID " + process.pid); setInterval(() => {}, 1000);`,
      ],
      { cwd: ROOT, stdio: ["pipe", "pipe", "inherit"] },
    );
    const pid = await new Promise<number>((resolve) => {
      let out = "";
      watchdog.stdout?.on("data", (b: Buffer) => {
        out += b.toString();
        const m = /PID (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
    });
    const exited = new Promise<void>((r) => watchdog.once("exit", () => r()));
    watchdog.kill("SIGTERM");
    await exited;
    await until(`emulator ${pid} to exit`, () => !alive(pid));
    expect(alive(pid)).toBe(false);
  });
});
