/**
 * The Arduino/ESP32 configuration block an admin pastes into the firmware after adding a device
 * (or rotating its secret): the `device` function's URLs, the machine id, its secret and type.
 * Pure: the caller passes the request headers and the project.
 */
import type { MachineType } from "./status";

/** Where every function of this project runs (functions/src/index.ts). */
const FUNCTIONS_REGION = "asia-northeast3";

const LOOPBACK = /^(localhost|127\.0\.0\.1|\[::1\]|0\.0\.0\.0)(:\d{1,5})?$/i;
const HOST = /^[A-Za-z0-9.-]{1,253}(:\d{1,5})?$/;

/**
 * The base URL of the `device` function, as seen by the caller of the `api` function:
 * - the local stack or Functions emulator (a loopback host):
 *   `http://127.0.0.1:5001/{project}/{region}/device`;
 * - a `*.cloudfunctions.net` host: the same host, `/device`;
 * - anything else (Cloud Run URL, hosting rewrite, custom domain, no host):
 *   `https://{region}-{project}.cloudfunctions.net/device`.
 * `x-forwarded-host` (first value) wins over `host`; a malformed host is ignored.
 */
export function deviceBaseUrl(
  headers: Record<string, string | undefined>,
  project: string,
  region: string = FUNCTIONS_REGION,
): string {
  const forwarded = headers["x-forwarded-host"]?.split(",")[0]?.trim();
  const host = [forwarded, headers.host?.trim()].find((h) => h !== undefined && HOST.test(h));
  if (host && LOOPBACK.test(host)) return `http://${host}/${project}/${region}/device`;
  if (host && /\.cloudfunctions\.net(:\d+)?$/i.test(host)) return `https://${host}/device`;
  return `https://${region}-${project}.cloudfunctions.net/device`;
}

export interface FirmwareConfig {
  /** From {@link deviceBaseUrl}. */
  deviceUrl: string;
  machineId: string;
  secret: string;
  machineType: MachineType;
  /** For the comment line only. */
  machineName?: string;
  roomId?: string;
}

/** A C string literal: quotes, backslashes and control characters escaped. */
function cString(value: string): string {
  const escaped = value.replace(/["\\]|[\x00-\x1f\x7f]/g, (ch) =>
    ch === '"' || ch === "\\" ? `\\${ch}` : `\\x${ch.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
  return `"${escaped}"`;
}

/** Text for a `//` comment: one line, no control characters. */
function commentText(value: string): string {
  return value
    .replace(/[\x00-\x1f\x7f\u2028\u2029]/g, " ")
    .replace(/ {2,}/g, " ")
    .trim();
}

/**
 * The lines to replace in WashCall_Main.ino, in the firmware's own identifiers (`FASTAPI_URL`,
 * `RAW_DATA_URL`, `MACHINE_ID`, `SECRET_KEY`), so an admin pastes them over the old definitions.
 * The firmware sends `machine_type: "washer"` whatever the machine is; the server keeps the
 * registered type, so nothing in the board needs changing for a dryer. The secret is in it: show
 * it once, never log it.
 */
export function firmwareSnippet(c: FirmwareConfig): string {
  const base = c.deviceUrl.replace(/\/+$/, "");
  const label = [
    `machine ${c.machineId}`,
    c.machineName ? commentText(c.machineName) : null,
    c.roomId ? `room ${c.roomId}` : null,
    c.machineType,
  ]
    .filter((x): x is string => !!x)
    .join(", ");
  const https = base.startsWith("https://");
  return [
    `// WashCall_Main.ino: replace these definitions (${label}).`,
    "// Keep SECRET_KEY private; it is shown only once (rotate it if it leaks).",
    ...(https
      ? [
          "// HTTPS: see docs/FIRMWARE.md (WiFiClientSecure with the root CA); plain http:// is redirected",
          "// and the firmware does not follow redirects, so its reports would be lost.",
        ]
      : []),
    `String FASTAPI_URL = ${cString(`${base}/update`)};`,
    `String RAW_DATA_URL = ${cString(`${base}/raw_data`)};`,
    `int MACHINE_ID = ${Number(c.machineId)};`,
    `const char* SECRET_KEY = ${cString(c.secret)};`,
    "",
  ].join("\n");
}

/** The snippet for a machine as the admin API and the console describe it. */
export function machineSnippet(
  deviceUrl: string,
  m: { machineId: string; type: MachineType; name: string; roomId: string | null },
  secret: string,
): string {
  return firmwareSnippet({
    deviceUrl,
    machineId: m.machineId,
    secret,
    machineType: m.type,
    machineName: m.name,
    ...(m.roomId === null ? {} : { roomId: m.roomId }),
  });
}
