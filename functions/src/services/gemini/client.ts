/**
 * Gemini client for the best-time tip, on @google/generative-ai. The SDK is imported lazily on
 * the first call so that loading the functions (every cold start, every deploy analysis) does
 * not pay for it. Answers come back sanitised to one short sentence; every failure is a
 * {@link GeminiError}.
 */
import { GeminiError } from "./errors";
import { TIP_MAX_LENGTH, sanitizeTip } from "./sanitize";

export const GEMINI_DEFAULT_TIMEOUT_MS = 8_000;
export const GEMINI_DEFAULT_MAX_OUTPUT_TOKENS = 256;
export const GEMINI_DEFAULT_TEMPERATURE = 0.4;

export interface GeminiClientOptions {
  apiKey: string;
  /** e.g. "gemini-2.0-flash" (the GEMINI_MODEL param). */
  model: string;
  timeoutMs?: number;
  /** API origin, e.g. a local stub; defaults to the SDK's (generativelanguage.googleapis.com). */
  baseUrl?: string;
  maxOutputTokens?: number;
  temperature?: number;
  /** Longest sentence returned, in characters. */
  maxLength?: number;
}

export interface GeminiClient {
  /** One sanitised sentence answering `prompt`; throws {@link GeminiError}. */
  suggest(prompt: string): Promise<string>;
}

type Sdk = typeof import("@google/generative-ai");
let sdk: Promise<Sdk> | null = null;
const loadSdk = (): Promise<Sdk> => (sdk ??= import("@google/generative-ai"));

/** Any failure of a generateContent call as a GeminiError (messages never carry the key). */
function toGeminiError(e: unknown, lib: Sdk, timeoutMs: number): GeminiError {
  if (e instanceof GeminiError) return e;
  const name = e instanceof Error ? e.name : "";
  if (
    e instanceof lib.GoogleGenerativeAIAbortError ||
    name === "AbortError" ||
    name === "TimeoutError"
  ) {
    return new GeminiError("timeout", `Gemini did not answer within ${timeoutMs} ms`);
  }
  if (e instanceof lib.GoogleGenerativeAIFetchError) {
    return new GeminiError("http", `Gemini answered HTTP ${e.status ?? "error"}`, e.status ?? null);
  }
  if (e instanceof lib.GoogleGenerativeAIResponseError) {
    return new GeminiError("blocked", "Gemini blocked the prompt or the answer");
  }
  if (e instanceof SyntaxError) {
    return new GeminiError("malformed", "Gemini answered with a body that is not JSON");
  }
  if (e instanceof lib.GoogleGenerativeAIError) {
    return new GeminiError("network", "Gemini could not be reached");
  }
  return new GeminiError("malformed", `Gemini answer could not be read (${name || "error"})`);
}

export function createGeminiClient(options: GeminiClientOptions): GeminiClient {
  const timeoutMs = options.timeoutMs ?? GEMINI_DEFAULT_TIMEOUT_MS;
  const maxLength = options.maxLength ?? TIP_MAX_LENGTH;

  return {
    async suggest(prompt: string): Promise<string> {
      const lib = await loadSdk();
      const model = new lib.GoogleGenerativeAI(options.apiKey).getGenerativeModel(
        {
          model: options.model,
          generationConfig: {
            maxOutputTokens: options.maxOutputTokens ?? GEMINI_DEFAULT_MAX_OUTPUT_TOKENS,
            temperature: options.temperature ?? GEMINI_DEFAULT_TEMPERATURE,
            candidateCount: 1,
          },
        },
        { timeout: timeoutMs, ...(options.baseUrl ? { baseUrl: options.baseUrl } : {}) },
      );
      let raw: string;
      try {
        const result = await model.generateContent(prompt);
        raw = result.response.text();
      } catch (e) {
        throw toGeminiError(e, lib, timeoutMs);
      }
      const tip = sanitizeTip(raw, maxLength);
      if (tip === null)
        throw new GeminiError("malformed", "Gemini answered without a usable sentence");
      return tip;
    },
  };
}
