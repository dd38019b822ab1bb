/**
 * Between Cloud Functions' Express (req, res) and our handlers, which take a plain
 * {@link HttpRequest} and return a plain {@link HttpResponse} (tests call them directly).
 */
import type { Request, Response } from "express";
import * as logger from "firebase-functions/logger";
import { HttpError } from "./errors";

export interface HttpRequest {
  method: string;
  /** Path below the function, e.g. "/update". */
  path: string;
  headers: Record<string, string | undefined>;
  query: Record<string, string | undefined>;
  /** Query parameters given more than once (a 400: which one was meant?). */
  repeatedQuery?: string[];
  /** The raw body bytes; undefined when there was none. */
  rawBody: Buffer | undefined;
}

export interface HttpResponse {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export type Handler = (req: HttpRequest) => Promise<HttpResponse>;

const MAX_BODY_BYTES = 8 * 1024;

export function fromExpress(req: Request): HttpRequest {
  const headers: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    headers[k.toLowerCase()] = Array.isArray(v) ? v.join(", ") : v;
  }
  // From the raw query string, not Express's parsed one: that drops `__proto__`, turns repeats
  // into arrays and `a[b]=c` into objects, and a route should see each of those as a 400.
  const raw = (req.originalUrl ?? req.url ?? "").split("?").slice(1).join("?");
  const pairs = [...new URLSearchParams(raw)];
  const seen = new Set<string>();
  const repeated = new Set<string>();
  for (const [k] of pairs) (seen.has(k) ? repeated : seen).add(k);
  // Object.fromEntries defines own properties, so even `__proto__` stays a plain (unknown) key.
  const query = Object.fromEntries(pairs.reverse()) as Record<string, string | undefined>;
  return {
    method: req.method,
    path: req.path || "/",
    headers,
    query,
    ...(repeated.size > 0 ? { repeatedQuery: [...repeated] } : {}),
    // Cloud Functions (and the local stack's host) keep the bytes as they came.
    rawBody: (req as Request & { rawBody?: Buffer }).rawBody,
  };
}

/** Wraps a handler for `onRequest`: errors become the contract's JSON error shape. */
export function toExpress(name: string, handler: Handler) {
  return async (req: Request, res: Response): Promise<void> => {
    const out = await runHandler(name, handler, fromExpress(req));
    for (const [k, v] of Object.entries(out.headers ?? {})) res.setHeader(k, v);
    res.status(out.status).json(out.body);
  };
}

/** Runs a handler; a thrown error becomes its response (an unknown one a logged 500). */
export async function runHandler(
  name: string,
  handler: Handler,
  req: HttpRequest,
): Promise<HttpResponse> {
  try {
    return await handler(req);
  } catch (err) {
    if (err instanceof HttpError) {
      if (err.status >= 500)
        logger.error("request failed", { fn: name, path: req.path, code: err.code });
      return err.toResponse();
    }
    logger.error("unhandled error", {
      fn: name,
      path: req.path,
      error: err instanceof Error ? err.message : String(err),
    });
    return new HttpError(500, "internal", "internal error").toResponse();
  }
}

/** Parses the body as JSON, enforcing the size limit (413) and syntax (400). */
export function jsonBody(req: HttpRequest): unknown {
  const declared = Number(req.headers["content-length"] ?? "0");
  const size = req.rawBody?.length ?? 0;
  if (size > MAX_BODY_BYTES || declared > MAX_BODY_BYTES) {
    throw new HttpError(413, "payload_too_large", `body is larger than ${MAX_BODY_BYTES} bytes`);
  }
  if (!req.rawBody || size === 0)
    throw new HttpError(400, "invalid_json", "body is empty; expected a JSON object");
  try {
    return JSON.parse(req.rawBody.toString("utf8")) as unknown;
  } catch {
    throw new HttpError(400, "invalid_json", "body is not valid JSON");
  }
}

/** A 405 (with Allow) unless the request's method is one of `allowed`; both functions use it. */
export function requireMethod(req: HttpRequest, ...allowed: string[]): void {
  if (!allowed.includes(req.method)) {
    throw new HttpError(
      405,
      "method_not_allowed",
      `${req.method} is not allowed on ${req.path}; use ${allowed.join(" or ")}`,
      { Allow: allowed.join(", ") },
    );
  }
}
