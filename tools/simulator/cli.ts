/**
 * `npm run simulate -- --machines 6 --speed 60`: a virtual laundry room posting to a device
 * endpoint (the local stack by default). One line per request, a summary at the end; exit code
 * 1 if any request ended non-2xx (429s that were retried and then accepted do not count).
 */
import { parseArgs } from "node:util";
import { kstParts } from "../../functions/src/domain/time";
import { parseSpeed } from "./clock";
import {
  DEFAULT_DEVICE_URL,
  type SentReport,
  type SimulationLog,
  defaultMachines,
  runSimulation,
} from "./simulator";

const USAGE = `Usage: npm run simulate -- [options]

  --machines N          virtual machines, ids 1..N, the last third dryers (default 6)
  --speed X|max         virtual seconds per real second, or "max" (default 60)
  --minutes M           virtual span in minutes, ending now (default 180)
  --url URL             device endpoint (default ${DEFAULT_DEVICE_URL})
  --seed S              random seed (default: random, printed)
  --secret-prefix P     device secret = P + id (default demo-secret-)
  --concurrency C       requests in flight at most (default 16)
  --heartbeat-minutes H virtual minutes between heartbeats, 0 = none (default 5)
  --quiet               no line per request, only the summary
  -h, --help`;

function positiveInt(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0)
    throw new Error(`--${name} must be a positive integer, got "${text}"`);
  return n;
}

function nonNegative(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0)
    throw new Error(`--${name} must be a number ≥ 0, got "${text}"`);
  return n;
}

function kstLabel(unixSec: number): string {
  const p = kstParts(unixSec * 1000);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${p.month}/${pad(p.day)} ${pad(p.hour)}:${pad(p.minute)} KST`;
}

function line(r: SentReport): string {
  const what =
    r.kind === "update"
      ? `${(r.status ?? "").padEnd(8)} ts=${r.timestamp}${r.duplicate ? " dup" : ""}${r.outOfOrder ? " late" : ""}`
      : "heartbeat";
  const retries = r.attemptStatuses.length > 1 ? ` after ${r.attemptStatuses.join("→")}` : "";
  const status = r.responseStatus ?? "network error";
  const mark = r.ok ? "" : "  ✗";
  return `[${kstLabel(r.virtualAt)}] machine ${r.machineId.padStart(3)} (${r.auth.padEnd(6)}) ${what} → ${status}${retries} ${r.latencyMs} ms${mark}`;
}

function printSummary(log: SimulationLog): void {
  const s = log.summary;
  const seconds = ((log.realEndMs - log.realStartMs) / 1000).toFixed(1);
  console.log("");
  console.log(
    `Simulated ${kstLabel(log.virtualStartSec)} → ${kstLabel(log.virtualEndSec)} in ${seconds} s (seed ${log.seed}, speed ${log.speed})${s.aborted ? " — interrupted" : ""}`,
  );
  console.log(
    `Requests: ${s.sent}/${s.planned} sent (${s.updates} updates, ${s.heartbeats} heartbeats), ${s.ok} ok, ${s.failed} failed; ${s.duplicates} duplicates, ${s.outOfOrder} out of order, ${s.retried429} 429s retried, ${s.networkRetries} network retries`,
  );
  for (const m of log.machines) {
    const mins = m.cycles.map((c) => c.totalMinutes);
    const mean = mins.length
      ? `mean ${Math.round(mins.reduce((a, b) => a + b, 0) / mins.length)} min`
      : "none finished";
    const silent = m.silentFrom !== null ? `, silent from ${kstLabel(m.silentFrom)}` : "";
    console.log(
      `  machine ${m.id.padStart(3)} ${m.type.padEnd(6)} ${m.auth.padEnd(6)} ${String(m.cycles.length).padStart(3)} cycles (${mean}), ends ${m.finalStatus ?? "with no report sent"}${silent}`,
    );
  }
  const failures = log.reports.filter((r) => !r.ok);
  if (failures.length > 0) {
    if (failures.some((f) => f.responseStatus === 404)) {
      console.log(
        "Some machines do not exist on the server: the local stack seeds 1–6 (washers 1–4, dryers 5–6); add others with `npm run admin` first.",
      );
    }
    console.log(`Failures (first 10 of ${failures.length}):`);
    for (const f of failures.slice(0, 10)) {
      console.log(
        `  machine ${f.machineId} ${f.kind} ${f.status ?? ""} → ${f.responseStatus ?? "network error"} ${JSON.stringify(f.responseBody)}`,
      );
    }
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      machines: { type: "string", default: "6" },
      speed: { type: "string", default: "60" },
      minutes: { type: "string", default: "180" },
      url: { type: "string", default: DEFAULT_DEVICE_URL },
      seed: { type: "string" },
      "secret-prefix": { type: "string", default: "demo-secret-" },
      concurrency: { type: "string", default: "16" },
      "heartbeat-minutes": { type: "string", default: "5" },
      quiet: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const machines = defaultMachines(
    positiveInt("machines", values.machines),
    values["secret-prefix"],
  );
  const speed = parseSpeed(values.speed);
  const spanMinutes = nonNegative("minutes", values.minutes);
  const seed =
    values.seed !== undefined
      ? nonNegative("seed", values.seed) >>> 0
      : Math.floor(Math.random() * 2 ** 32);
  const concurrency = positiveInt("concurrency", values.concurrency);
  const heartbeatMinutes = nonNegative("heartbeat-minutes", values["heartbeat-minutes"]);

  const abort = new AbortController();
  process.once("SIGINT", () => {
    console.log("\nInterrupted: finishing requests in flight…");
    abort.abort();
  });

  console.log(
    `WashCall simulator: ${machines.length} machines → ${values.url} (speed ${speed}, ${spanMinutes} virtual minutes, seed ${seed})`,
  );
  const log = await runSimulation({
    baseUrl: values.url,
    machines,
    spanMinutes,
    speed,
    seed,
    concurrency,
    model: { heartbeatMinutes },
    signal: abort.signal,
    onEvent: (e) => {
      if (e.type === "sent" && !values.quiet) console.log(line(e.report));
      if (e.type === "retry" && !values.quiet) {
        console.log(
          `  … machine ${e.machineId} ${e.kind} got ${e.status ?? "a network error"}, retrying`,
        );
      }
    },
  });
  printSummary(log);
  if (log.summary.aborted) return 130;
  return log.summary.failed > 0 ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    console.error(USAGE);
    process.exitCode = 2;
  },
);
