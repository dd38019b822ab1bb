/**
 * The deploy artifact, as `firebase deploy` makes it: functions/ minus firebase.json's `ignore`
 * patterns, installed from functions/package-lock.json alone (`npm ci --omit=dev`, as Cloud
 * Build does) in a folder of its own, then loaded by a plain Node process. Pins that the lockfile
 * matches package.json, that lib/ runs without anything from the workspace root, and which
 * functions the firebase-functions manifest (`__endpoint`) declares.
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = path.join(__dirname, "..", "..");
const FUNCTIONS = path.join(ROOT, "functions");
const dir = mkdtempSync(path.join(os.tmpdir(), "washcall-artifact-"));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** firebase.json's ignore globs (`*` within a name) as one matcher of top-level entries. */
function ignored(): (name: string) => boolean {
  const config = JSON.parse(readFileSync(path.join(ROOT, "firebase.json"), "utf8")) as {
    functions: { ignore: string[] }[];
  };
  const patterns = config.functions[0].ignore.map(
    (g) => new RegExp(`^${g.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`),
  );
  return (name) => patterns.some((p) => p.test(name));
}

describe("the deploy artifact", () => {
  it("installs from functions/package-lock.json alone and declares every function in its manifest", () => {
    const skip = ignored();
    const shipped = readdirSync(FUNCTIONS).filter((name) => !skip(name));
    expect(shipped.sort()).toEqual(["lib", "package-lock.json", "package.json"]);
    for (const name of shipped) {
      cpSync(path.join(FUNCTIONS, name), path.join(dir, name), { recursive: true });
    }
    execFileSync(
      "npm",
      ["ci", "--omit=dev", "--ignore-scripts", "--prefer-offline", "--no-audit", "--no-fund"],
      { cwd: dir, stdio: "pipe", env: { ...process.env, npm_config_loglevel: "error" } },
    );
    const manifest = execFileSync(
      process.execPath,
      [
        "-e",
        `const m = require("./lib/index.js");
           const out = {};
           for (const [name, fn] of Object.entries(m)) {
             const e = fn && fn.__endpoint;
             out[name] = e ? Object.keys(e).find((k) => k.endsWith("Trigger")) : null;
           }
           process.stdout.write(JSON.stringify(out));`,
      ],
      { cwd: dir, env: { PATH: process.env.PATH ?? "" } },
    ).toString();
    expect(JSON.parse(manifest)).toEqual({
      device: "httpsTrigger",
      api: "httpsTrigger",
      tick: "scheduleTrigger",
      rollupStats: "scheduleTrigger",
      onReportCreated: "eventTrigger",
      onPushCreated: "eventTrigger",
      onAdminWritten: "eventTrigger",
      onMachineWritten: "eventTrigger",
      onRoomWritten: "eventTrigger",
      onProvisioningWritten: "eventTrigger",
    });
  }, 240_000);
});
