import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { defineRoute } from "../../functions/src/http/apiRouter";
import { apiRoutes } from "../../functions/src/http/routes";
import {
  DOC_EXTRAS,
  OPENAPI_PATH,
  SERVERS,
  buildOpenApi,
  renderOpenApi,
} from "../../tools/openapi";

type Doc = {
  openapi: string;
  servers: { url: string }[];
  paths: Record<string, Record<string, unknown>>;
};
type Operation = {
  security: unknown[];
  requestBody?: { content: { "application/json": { schema: Record<string, unknown> } } };
  parameters?: { name: string; in: string }[];
  responses: Record<string, unknown>;
};

const doc = buildOpenApi() as unknown as Doc;
const op = (path: string, method: string) => doc.paths[path]?.[method.toLowerCase()] as Operation;

describe("docs/openapi.json", () => {
  it("is exactly what `npm run docs` generates from the current code", () => {
    const committed = readFileSync(OPENAPI_PATH, "utf8");
    expect(
      committed === renderOpenApi(),
      "docs/openapi.json is out of date with the routes or zod schemas: run `npm run docs` and commit docs/openapi.json",
    ).toBe(true);
  });

  it("is OpenAPI 3.1 with the two local function servers", () => {
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.servers.map((s) => s.url)).toEqual([
      "http://127.0.0.1:5001/demo-washcall/asia-northeast3/device",
      "http://127.0.0.1:5001/demo-washcall/asia-northeast3/api",
    ]);
    expect(doc.paths["/update"]?.servers).toEqual([SERVERS.device]);
    expect(doc.paths["/health"]?.servers).toEqual([SERVERS.api]);
  });

  it("lists every route of the api table with its method, and the three device paths", () => {
    for (const r of apiRoutes) {
      expect(op(r.path, r.method), `${r.method} ${r.path}`).toBeDefined();
    }
    for (const p of ["/update", "/heartbeat", "/raw_data"]) expect(op(p, "POST"), p).toBeDefined();
  });

  it("every DOC_EXTRAS entry names a route of the table", () => {
    const keys = new Set(apiRoutes.map((r) => `${r.method} ${r.path}`));
    for (const key of Object.keys(DOC_EXTRAS)) expect(keys.has(key), key).toBe(true);
  });

  it("maps auth to security: optional → public or ID token, user → ID token, admin → ID token with 403", () => {
    const expected: Record<string, unknown[]> = {
      optional: [{}, { firebaseIdToken: [] }],
      user: [{ firebaseIdToken: [] }],
      admin: [{ firebaseIdToken: [] }],
    };
    expect(apiRoutes.some((r) => r.auth === "optional")).toBe(true);
    for (const r of apiRoutes) {
      const o = op(r.path, r.method);
      expect(o.security, r.path).toEqual(expected[r.auth]);
      expect(Object.keys(o.responses).includes("401"), r.path).toBe(true);
      expect(Object.keys(o.responses).includes("403"), r.path).toBe(r.auth === "admin");
    }
  });

  it("documents request bodies from the zod schemas as input (ids as integer or digits, strict)", () => {
    const body = op("/admin/add_device", "POST").requestBody?.content["application/json"].schema;
    expect(body).toMatchObject({
      type: "object",
      additionalProperties: false,
      required: ["room_id", "machine_id", "machine_name", "machine_type"],
    });
    expect((body?.properties as Record<string, unknown>).machine_id).toEqual({
      anyOf: [
        { type: "integer", exclusiveMinimum: 0, maximum: 999999999 },
        { type: "string", pattern: "^[1-9][0-9]{0,8}$" },
      ],
    });
    const update = op("/update", "POST").requestBody?.content["application/json"].schema;
    expect(update?.required).toEqual(["machine_id", "status", "timestamp"]);
    expect(op("/update", "POST").responses).toHaveProperty("429");
  });

  it("documents query strings as parameters and errors as the shared error schema", () => {
    expect(op("/notifications", "GET").parameters?.map((p) => [p.name, p.in])).toEqual([
      ["limit", "query"],
      ["cursor", "query"],
    ]);
    expect(op("/report_broken", "POST").responses["400"]).toMatchObject({
      content: {
        "application/json": { schema: { $ref: "#/components/schemas/ErrorResponse" } },
      },
    });
  });

  it("a new route shows up in the document (so forgetting `npm run docs` fails the first test)", () => {
    const extra = defineRoute({
      method: "POST",
      path: "/brand_new",
      auth: "user",
      body: z.object({ n: z.number().int() }).strict(),
      response: z.strictObject({}),
    }).handle(async () => ({}));
    const withNew = buildOpenApi([...apiRoutes, extra]) as unknown as Doc;
    expect(withNew.paths["/brand_new"]?.post).toBeDefined();
    expect(renderOpenApi([...apiRoutes, extra])).not.toBe(renderOpenApi());
  });

  it("renders deterministically: sorted keys, two-space indent, trailing newline", () => {
    const text = renderOpenApi();
    expect(text).toBe(renderOpenApi());
    expect(text.endsWith("}\n")).toBe(true);
    expect(Object.keys(JSON.parse(text) as object)).toEqual([
      "components",
      "info",
      "openapi",
      "paths",
      "servers",
      "tags",
    ]);
  });
});
