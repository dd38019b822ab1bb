/**
 * The lines an admin pastes into the firmware after adding a device or rotating its secret.
 * Pure: the caller passes the request headers and the project.
 */
import type { MachineType } from "./status";

/** Where every function of this project runs (set in functions/src/index.ts). */
export const REGION = "asia-northeast3";

const LOOPBACK = /^(localhost|127\.0\.0\.1|\[::1\]|0\.0\.0\.0)(:\d{1,5})?$/i;
const HOST = /^[A-Za-z0-9.-]{1,253}(:\d{1,5})?$/;

/**
 * The `device` function's base URL as the caller of `api` sees it: the emulator's path on a
 * loopback host, the same host on `*.cloudfunctions.net`, else (Cloud Run URL, hosting rewrite,
 * custom domain, no host) the project's default URL. `x-forwarded-host` (first value) wins over
 * `host`; a malformed host is ignored.
 */
export function deviceBaseUrl(headers: Record<string, string | undefined>, project: string) {
  const forwarded = headers["x-forwarded-host"]?.split(",")[0]?.trim();
  const host = [forwarded, headers.host?.trim()].find((h) => h !== undefined && HOST.test(h));
  if (host && LOOPBACK.test(host)) return `http://${host}/${project}/${REGION}/device`;
  if (host && /\.cloudfunctions\.net(:\d+)?$/i.test(host)) return `https://${host}/device`;
  return `https://${REGION}-${project}.cloudfunctions.net/device`;
}

/** A C string literal: quotes, backslashes and control characters escaped. */
function cString(value: string): string {
  const escaped = value.replace(/["\\]|[\x00-\x1f\x7f]/g, (ch) =>
    ch === '"' || ch === "\\" ? `\\${ch}` : `\\x${ch.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
  return `"${escaped}"`;
}

/**
 * The definitions to replace in WashCall_Main.ino, in the firmware's own identifiers. The board
 * keeps sending `machine_type: "washer"` (the registered type wins), so a dryer needs no other
 * change. The secret is in it: show it once, never log it.
 */
export function firmwareSnippet(
  deviceUrl: string,
  m: { machineId: string; type: MachineType; name: string; roomId: string | null },
  secret: string,
): string {
  const base = deviceUrl.replace(/\/+$/, "");
  const room = m.roomId ? `room ${m.roomId}` : "";
  // The name in a `//` comment: one line, no control characters.
  const name = m.name.replace(/[\x00-\x1f\x7f\u2028\u2029]/g, " ").replace(/ {2,}/g, " ");
  const label = [`machine ${m.machineId}`, name.trim(), room, m.type].filter(Boolean);
  return [
    `// WashCall_Main.ino: replace these definitions (${label.join(", ")}).`,
    "// Keep SECRET_KEY private; it is shown only once (rotate it if it leaks).",
    ...(base.startsWith("https://")
      ? [
          "// HTTPS: see docs/FIRMWARE.md (WiFiClientSecure with the root CA); plain http:// is redirected",
          "// and the firmware does not follow redirects, so its reports would be lost.",
        ]
      : []),
    `String FASTAPI_URL = ${cString(`${base}/update`)};`,
    `String RAW_DATA_URL = ${cString(`${base}/raw_data`)};`,
    `int MACHINE_ID = ${Number(m.machineId)};`,
    `const char* SECRET_KEY = ${cString(secret)};`,
    "",
  ].join("\n");
}
