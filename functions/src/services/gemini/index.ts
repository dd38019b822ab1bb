export {
  GEMINI_DEFAULT_MAX_OUTPUT_TOKENS,
  GEMINI_DEFAULT_TEMPERATURE,
  GEMINI_DEFAULT_TIMEOUT_MS,
  createGeminiClient,
} from "./client";
export type { GeminiClient, GeminiClientOptions } from "./client";
export { GeminiError } from "./errors";
export type { GeminiErrorCode } from "./errors";
export { PROMPT_MAX_CHARS, buildTipPrompt } from "./prompt";
export type { TipPromptInput } from "./prompt";
export { TIP_MAX_LENGTH, sanitizeTip } from "./sanitize";
