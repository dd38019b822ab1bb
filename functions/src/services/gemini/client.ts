/**
 * Gemini client for the best-time tip, on @google/generative-ai. The SDK is imported lazily on
 * the first call so that loading the functions (every cold start, every deploy analysis) does
 * not pay for it. Answers come back sanitised to one short sentence; every failure is a
 * {@link GeminiError}, and every one of them means "use the statistics tip".
 */
import { sanitizeTip } from "./sanitize";

export type GeminiErrorCode =
  | "timeout" // no answer within the client's timeout
  | "http" // a non-2xx answer (400, 401/403 key, 429 quota, 5xx …): `status` says which
  | "network" // no answer at all (DNS, connection refused, reset)
  | "blocked" // the safety filters blocked the prompt or the answer
  | "malformed"; // no usable sentence after sanitising, or a body that is not the API's JSON

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

type Sdk = typeof import("@google/generative-ai");
let sdk: Promise<Sdk> | null = null;
const loadSdk = (): Promise<Sdk> => (sdk ??= import("@google/generative-ai"));

/** Any failure of a generateContent call as a GeminiError (messages never carry the key). */
function toGeminiError(e: unknown, lib: Sdk, timeoutMs: number): GeminiError {
  const name = e instanceof Error ? e.name : "";
  // A timeout while the body is read is a bare AbortError: the SDK wraps only the fetch's.
  if (e instanceof lib.GoogleGenerativeAIAbortError || name === "AbortError") {
    return new GeminiError("timeout", `Gemini did not answer within ${timeoutMs} ms`);
  }
  if (e instanceof lib.GoogleGenerativeAIFetchError) {
    return new GeminiError("http", `Gemini answered HTTP ${e.status ?? "error"}`, e.status ?? null);
  }
  if (e instanceof lib.GoogleGenerativeAIResponseError) {
    return new GeminiError("blocked", "Gemini blocked the prompt or the answer");
  }
  if (e instanceof lib.GoogleGenerativeAIError) {
    return new GeminiError("network", "Gemini could not be reached");
  }
  // A body that is not JSON (SyntaxError), or not the API's shape.
  return new GeminiError("malformed", `Gemini answer could not be read (${name || "error"})`);
}

/** `model`: the GEMINI_MODEL param, e.g. "gemini-2.0-flash"; after `timeoutMs` the tip falls back to statistics. */
export function createGeminiClient(
  apiKey: string,
  { model, timeoutMs }: { model: string; timeoutMs: number },
) {
  return {
    /** One sanitised sentence answering `prompt`; throws {@link GeminiError}. */
    async suggest(prompt: string): Promise<string> {
      const lib = await loadSdk();
      const generative = new lib.GoogleGenerativeAI(apiKey).getGenerativeModel(
        { model, generationConfig: { maxOutputTokens: 256, temperature: 0.4, candidateCount: 1 } },
        { timeout: timeoutMs },
      );
      let raw: string;
      try {
        raw = (await generative.generateContent(prompt)).response.text();
      } catch (e) {
        throw toGeminiError(e, lib, timeoutMs);
      }
      const tip = sanitizeTip(raw);
      if (tip === null) {
        throw new GeminiError("malformed", "Gemini answered without a usable sentence");
      }
      return tip;
    },
  };
}
