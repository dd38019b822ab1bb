/**
 * The local stack's HTTP host answers what its body parser refuses in the contract's JSON error
 * shape (as Cloud Functions' front end would), never an HTML page with a Node stack trace.
 */
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type E2eStack, startE2eStack } from "./support";

let e: E2eStack;

beforeAll(async () => {
  e = await startE2eStack();
});

afterAll(async () => {
  await e?.stop();
});

async function send(body: Buffer, headers: Record<string, string>) {
  const res = await fetch(`${e.stack.deviceUrl}/update`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: new Uint8Array(body),
  });
  const text = await res.text();
  return { status: res.status, type: res.headers.get("content-type") ?? "", text };
}

describe("local HTTP host: body errors in the contract's JSON shape", () => {
  const cases: [string, () => Buffer, Record<string, string>, number, string][] = [
    ["an 11 MB body", () => Buffer.alloc(11 * 1024 * 1024, 0x20), {}, 413, "payload_too_large"],
    [
      "a gzip bomb (50 MB of zeros)",
      () => gzipSync(Buffer.alloc(50 * 1024 * 1024)),
      { "content-encoding": "gzip" },
      413,
      "payload_too_large",
    ],
    [
      "an unknown content-encoding",
      () => Buffer.from("{}"),
      { "content-encoding": "x-squash" },
      415,
      "invalid_body",
    ],
    [
      "gzip header over plain bytes",
      () => Buffer.from('{"machine_id":1}'),
      { "content-encoding": "gzip" },
      400,
      "invalid_body",
    ],
  ];

  it.each(cases)(
    "%s → %i %s, JSON without a stack trace",
    async (_n, body, headers, status, code) => {
      const res = await send(body(), headers);
      expect(res.status).toBe(status);
      expect(res.type).toContain("application/json");
      const parsed = JSON.parse(res.text) as { error: { code: string; message: string } };
      expect(parsed.error.code).toBe(code);
      expect(res.text).not.toMatch(/<html|<pre>|\bat [\w.]+ \(|node_modules/i);
    },
  );
});
