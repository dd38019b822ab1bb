/** The error of both HTTP functions: `{"error":{"code":"…","message":"…"}}` with its status. */
import type { z } from "zod";
import type { HttpResponse } from "./adapter";

type ErrorCode =
  | "invalid_json"
  | "invalid_body"
  | "invalid_query"
  | "unauthenticated"
  | "forbidden"
  | "not_found"
  | "method_not_allowed"
  | "payload_too_large"
  | "rate_limited"
  | "conflict"
  | "unavailable"
  | "internal";

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "HttpError";
  }

  toResponse(): HttpResponse {
    return {
      status: this.status,
      body: { error: { code: this.code, message: this.message } },
      headers: this.headers,
    };
  }
}

/** "timestamp: must be at least 1577836800; status: must be one of …" — names every field. */
function formatZodError(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.map(String).join(".");
      if (issue.code === "unrecognized_keys") {
        const keys = issue.keys.join(", ");
        return `${path ? `${path}: ` : ""}unknown field${issue.keys.length > 1 ? "s" : ""} ${keys}`;
      }
      return `${path || "body"}: ${issue.message}`;
    })
    .join("; ");
}

/** Parses with `schema` or throws a 400 naming the fields at fault. */
export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  value: unknown,
  code: "invalid_body" | "invalid_query" = "invalid_body",
): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new HttpError(400, code, formatZodError(result.error));
  return result.data;
}
