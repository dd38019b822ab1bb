/**
 * The Firebase Auth emulator (Node-only, so it runs everywhere): reused when
 * FIREBASE_AUTH_EMULATOR_HOST is set, else started as a child process from firebase-tools, under
 * watchdog.ts so that it dies with us even when we are killed with SIGKILL.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { connect } from "node:net";
import path from "node:path";

export interface LocalAuth {
  host: string;
  child: ChildProcess | null;
  stop(): Promise<void>;
}

export async function startAuth(
  projectId: string,
  root: string,
  /** More `emulators:start` arguments (e.g. --import/--export-on-exit for persistence). */
  extraArgs: string[] = [],
): Promise<LocalAuth> {
  const existing = process.env.FIREBASE_AUTH_EMULATOR_HOST;
  if (existing) return { host: existing, child: null, stop: () => Promise.resolve() };
  const firebase = path.join(root, "node_modules", ".bin", "firebase");
  const watchdog = path.join(root, "tools", "stack", "watchdog.ts");
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      watchdog,
      firebase,
      "emulators:start",
      "--only",
      "auth",
      "--project",
      projectId,
      ...extraArgs,
    ],
    {
      cwd: root,
      // stdin stays open: the watchdog stops the emulator when it closes (we died).
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, FIRESTORE_EMULATOR_HOST: "" },
    },
  );
  const host = "127.0.0.1:9099";
  let output = "";
  child.stdout?.on("data", (b: Buffer) => (output += b.toString()));
  child.stderr?.on("data", (b: Buffer) => (output += b.toString()));
  await waitForPort(
    host,
    90_000,
    () => child.exitCode !== null,
    () => output,
  );
  process.env.FIREBASE_AUTH_EMULATOR_HOST = host;
  return {
    host,
    child,
    stop: () => stopChild(child),
  };
}

export async function waitForPort(
  host: string,
  timeoutMs: number,
  failed: () => boolean = () => false,
  output: () => string = () => "",
): Promise<void> {
  const [h, p] = host.split(":");
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (failed()) throw new Error(`process exited before ${host} was ready:\n${output()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(Number(p), h, () => {
        s.end();
        resolve(true);
      });
      s.on("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${host} not ready after ${timeoutMs} ms:\n${output()}`);
}

/** SIGTERM to the child (the watchdog stops its group), SIGKILL if it lingers. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const kill = (sig: NodeJS.Signals) => child.kill(sig);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  kill("SIGTERM");
  // The watchdog escalates to SIGKILL for its group after 5 s; this is the last resort.
  const timer = setTimeout(() => kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}
