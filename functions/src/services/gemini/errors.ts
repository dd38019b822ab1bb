/** Typed failures of the Gemini client: every one of them means "use the statistics tip". */

export type GeminiErrorCode =
  /** No answer within the client's timeout. */
  | "timeout"
  /** A non-2xx answer (400 bad request, 401/403 key, 429 quota, 5xx …); `status` says which. */
  | "http"
  /** The request never got an answer (DNS, connection refused, reset). */
  | "network"
  /** The prompt or the answer was blocked by the safety filters. */
  | "blocked"
  /** An answer with no usable sentence after sanitising, or a body that is not the API's JSON. */
  | "malformed";

export class GeminiError extends Error {
  constructor(
    readonly code: GeminiErrorCode,
    message: string,
    readonly status: number | null = null,
  ) {
    super(message);
    this.name = "GeminiError";
  }
}
