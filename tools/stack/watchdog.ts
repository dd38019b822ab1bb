/**
 * `tsx tools/stack/watchdog.ts <command> [args…]`: runs the command in a process group of its own
 * and takes the whole group down when
 * - our stdin closes: the parent that spawned us is gone, even after a `kill -9` (the kernel
 *   closes its end of the pipe), so an emulator never outlives `npm start`;
 * - we get SIGTERM or SIGINT (the parent stopping normally).
 * The command's output is passed through; we exit with its exit code.
 */
import { spawn } from "node:child_process";

const [command, ...args] = process.argv.slice(2);
if (!command) {
  console.error("usage: watchdog <command> [args…]");
  process.exit(2);
}

const child = spawn(command, args, { stdio: ["ignore", "inherit", "inherit"], detached: true });

function signalGroup(signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

let stopping = false;
function stop(): void {
  if (stopping) return;
  stopping = true;
  signalGroup("SIGTERM");
  setTimeout(() => signalGroup("SIGKILL"), 5000).unref();
}

process.stdin.on("end", stop);
process.stdin.on("close", stop);
process.stdin.resume();
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
child.on("exit", (code, signal) => {
  // Whatever the command left behind in its group goes with it.
  try {
    if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
  } catch {
    // The group is empty already.
  }
  process.exit(code ?? (signal ? 1 : 0));
});
child.on("error", (err) => {
  console.error(`watchdog: ${err.message}`);
  process.exit(1);
});
