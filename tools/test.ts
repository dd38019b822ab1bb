/**
 * `npm test`'s last step: `vitest run` under the Auth emulator.
 *
 * - FIREBASE_AUTH_EMULATOR_HOST already set (an emulator you run, or `npm run test:emulators`):
 *   vitest runs against it directly.
 * - Otherwise `firebase emulators:exec --only auth` starts one for the run, on free ports (a copy
 *   of firebase.json with the auth, hub and logging ports changed, deleted afterwards), so two
 *   checkouts can run their tests side by side on one machine. Extra arguments go to vitest (`npm test -- test/unit`).
 */
import { spawn } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { freePort } from "./stack/firestore";
import { PROJECT_ID, ROOT } from "./stack/stack";

function run(command: string, args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: "inherit" });
    child.once("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;

async function main(): Promise<number> {
  const vitestArgs = process.argv.slice(2);
  const vitest = path.join(ROOT, "node_modules", ".bin", "vitest");
  if (process.env.FIREBASE_AUTH_EMULATOR_HOST) return run(vitest, ["run", ...vitestArgs]);

  const port = await freePort();
  const config = JSON.parse(readFileSync(path.join(ROOT, "firebase.json"), "utf8")) as {
    emulators: Record<string, unknown> & { auth: { port: number } };
  };
  config.emulators.auth.port = port;
  // The suite's own hub and logging ports too: the CLI's fallback from 4400/4500 races when two
  // suites start at once.
  config.emulators.hub = { host: "127.0.0.1", port: await freePort() };
  config.emulators.logging = { host: "127.0.0.1", port: await freePort() };
  const file = path.join(ROOT, `firebase.test-${port}.json`);
  writeFileSync(file, JSON.stringify(config, null, 2));
  try {
    const firebase = path.join(ROOT, "node_modules", ".bin", "firebase");
    return await run(firebase, [
      "emulators:exec",
      "--config",
      file,
      "--only",
      "auth",
      "--project",
      PROJECT_ID,
      ["vitest", "run", ...vitestArgs].map(quote).join(" "),
    ]);
  } finally {
    rmSync(file, { force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
