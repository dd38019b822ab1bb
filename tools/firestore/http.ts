/**
 * The HTTP/1.1 side of the local Firestore, for browsers and tools:
 * - WebChannel streams (`/google.firestore.v1.Firestore/{Listen|Write}/channel`), see
 *   webchannel.ts;
 * - the REST calls the web SDK makes for unary RPCs (`POST /v1/{database|parent}:{method}`,
 *   proto3 JSON in and out; streaming RPCs answer a JSON array) and `GET /v1/{document}`;
 * - the emulator's own endpoints: `GET /` ("Ok"), and
 *   `DELETE /emulator/v1/projects/{p}/databases/{d}/documents` (delete every document).
 * Every response allows the calling origin with credentials (CORS), as the emulator does.
 * Authorization headers are accepted and not checked: security rules are not evaluated here.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import type { Backend } from "./backend";
import { asRpcError, RpcError } from "./errors";
import { allowOrigin, readBody } from "./httpUtil";
import { fromJson, toJson } from "./protos";
import { WebChannelHub } from "./webchannel";

const V1 = "google.firestore.v1.";

type RestMethod = {
  request: string;
  response: string;
  /** Which request field the URL's resource fills. */
  resourceField: "database" | "parent";
  call: (backend: Backend, req: never) => unknown;
  streaming?: boolean;
};

const REST: Record<string, RestMethod> = {
  batchGet: {
    request: "BatchGetDocumentsRequest",
    response: "BatchGetDocumentsResponse",
    resourceField: "database",
    call: (b, r) => b.batchGet(r),
    streaming: true,
  },
  runQuery: {
    request: "RunQueryRequest",
    response: "RunQueryResponse",
    resourceField: "parent",
    call: (b, r) => b.runQuery(r),
    streaming: true,
  },
  runAggregationQuery: {
    request: "RunAggregationQueryRequest",
    response: "RunAggregationQueryResponse",
    resourceField: "parent",
    call: (b, r) => b.runAggregationQuery(r),
    streaming: true,
  },
  commit: {
    request: "CommitRequest",
    response: "CommitResponse",
    resourceField: "database",
    call: (b, r) => b.commit(r),
  },
  beginTransaction: {
    request: "BeginTransactionRequest",
    response: "BeginTransactionResponse",
    resourceField: "database",
    call: (b, r) => b.beginTransaction(r),
  },
  rollback: {
    request: "RollbackRequest",
    response: "google.protobuf.Empty",
    resourceField: "database",
    call: (b, r) => b.rollback(r),
  },
  listCollectionIds: {
    request: "ListCollectionIdsRequest",
    response: "ListCollectionIdsResponse",
    resourceField: "parent",
    call: (b, r) => b.listCollectionIds(r),
  },
  batchWrite: {
    request: "BatchWriteRequest",
    response: "BatchWriteResponse",
    resourceField: "database",
    call: (b, r) => b.batchWrite(r),
  },
};

function typeName(name: string): string {
  return name.startsWith("google.") ? name : V1 + name;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "Content-Type": "application/json; charset=utf-8" });
  res.end(JSON.stringify(body));
}

function sendError(res: ServerResponse, err: unknown): void {
  const e = asRpcError(err);
  sendJson(res, e.httpStatus, e.toJson());
}

async function rest(backend: Backend, resource: string, method: string, body: string) {
  const m = REST[method];
  if (!m) throw new RpcError("NOT_FOUND", `unknown method ${method}`);
  let json: unknown;
  try {
    json = body.trim() === "" ? {} : JSON.parse(body);
  } catch {
    throw new RpcError("INVALID_ARGUMENT", "the request body is not JSON");
  }
  const request = fromJson(typeName(m.request), json) as Record<string, unknown>;
  request[m.resourceField] =
    m.resourceField === "database" ? resource.replace(/\/documents(\/.*)?$/, "") : resource;
  const result = await m.call(backend, request as never);
  const encode = (r: unknown) => toJson(typeName(m.response), r);
  return m.streaming ? (result as unknown[]).map(encode) : encode(result);
}

export function createHttpHandler(backend: Backend): { listener: RequestListener; close(): void } {
  const channels = new WebChannelHub(backend);
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    allowOrigin(req, res);
    const url = new URL(req.url ?? "/", "http://localhost");
    const path = decodeURIComponent(url.pathname);
    if (req.method === "OPTIONS") {
      res.setHeader("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS");
      const asked = req.headers["access-control-request-headers"];
      if (asked) res.setHeader("Access-Control-Allow-Headers", asked);
      res.setHeader("Access-Control-Max-Age", "3600");
      res.writeHead(204).end();
      return;
    }
    if (path.endsWith("/channel") && path.startsWith("/google.firestore.v1.Firestore/")) {
      await channels.handle(req, res, url);
      return;
    }
    if (req.method === "GET" && path === "/") {
      res.writeHead(200, { "Content-Type": "text/plain" }).end("Ok\n");
      return;
    }
    const clear = /^\/emulator\/v1\/(projects\/[^/]+\/databases\/[^/]+)\/documents$/.exec(path);
    if (clear && req.method === "DELETE") {
      backend.store.clear(`${clear[1]}/documents/`);
      sendJson(res, 200, {});
      return;
    }
    if (/^\/emulator\/v1\/projects\/[^/]+:securityRules$/.test(path)) {
      throw new RpcError(
        "UNIMPLEMENTED",
        "the local Firestore does not evaluate security rules; use the real emulator for rules tests",
      );
    }
    const call = /^\/v1\/(projects\/[^/]+\/databases\/[^/]+(?:\/documents(?:\/.*)?)?):(\w+)$/.exec(
      path,
    );
    if (call && req.method === "POST") {
      sendJson(res, 200, await rest(backend, call[1], call[2], await readBody(req)));
      return;
    }
    const doc = /^\/v1\/(projects\/[^/]+\/databases\/[^/]+\/documents\/.+)$/.exec(path);
    if (doc && req.method === "GET") {
      const found = await backend.getDocument({ name: doc[1] });
      sendJson(res, 200, toJson(`${V1}Document`, found));
      return;
    }
    throw new RpcError("NOT_FOUND", `no such endpoint: ${req.method} ${path}`);
  };
  return {
    listener: (req, res) => {
      handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) sendError(res, err);
        else res.destroy();
      });
    },
    close: () => channels.closeAll(),
  };
}
