/**
 * GET /tip?room_id=: the best-time tip for one room or all (DESIGN.md "Tip"; TipResponse in
 * domain/tip.ts plus the seed PWA's `tip_message`), cached 10 minutes per scope (room id or
 * "all") and locale (store/tip.ts). A stale or missing tip is remade by the request that takes
 * the refresh lease; the others serve the stale tip, wait briefly for the new one, or answer with
 * the statistics tip, never calling Gemini themselves. `X-Tip-Cache` says which: `hit`, `miss`,
 * `stale`, `waited` or `busy`.
 */
import { setTimeout as sleep } from "node:timers/promises";
import * as logger from "firebase-functions/logger";
import { GEMINI_API_KEY, KMA_SERVICE_KEY } from "../../config";
import { type Locale, resolveLocale } from "../../domain/messages";
import {
  hasEnoughStatistics,
  localeFromAcceptLanguage,
  statisticsTip,
  tipResponse,
  type TipResponse,
} from "../../domain/tip";
import type { Weather } from "../../domain/weather";
import { GeminiError, createGeminiClient } from "../../services/gemini/client";
import { buildTipPrompt } from "../../services/gemini/prompt";
import { createKmaClient } from "../../services/kma/client";
import { KmaError } from "../../services/kma/parse";
import {
  acquireTipLease,
  firestoreWeatherCache,
  loadTipInputs,
  readCachedTip,
  writeCachedTip,
} from "../../store/tip";

import { refs } from "../../data/refs";
import { type ApiDeps, defineRoute } from "../apiRouter";
import { TipResponseSchema } from "../apiResponses";
import type { Room } from "../../data/model";
import { RoomQuerySchema, roomOr404 } from "./common";

/** How often a request without the lease and without a cached tip looks for the new one. */
const LEASE_POLL_MS = 100;

/**
 * A secret bound to a function must exist at deploy time, so a deployment without Gemini or KMA
 * stores the placeholder "none" (Secret Manager refuses empty values): that, or empty, means off.
 */
export function configuredKey(value: string): string {
  const v = value.trim();
  return v.toLowerCase() === "none" ? "" : v;
}

type TipCacheState = "hit" | "miss" | "stale" | "waited" | "busy";

interface TipContext {
  deps: ApiDeps;
  now: number;
  /** The room asked for (read once, by the 404 check), or null for every room. */
  room: Room | null;
  /** The room id, or "all". */
  scope: string;
  locale: Locale;
}

/**
 * What a tip is made from: the request's instant, locale and room, the rooms' state and grid
 * (store/tip.ts), and the forecast: null without a KMA key or on any KMA failure. `cachedOnly`:
 * the forecast from the Firestore cache, never a KMA call (for requests that do not hold the
 * refresh lease).
 */
async function loadInputs(ctx: TipContext, { cachedOnly }: { cachedOnly: boolean }) {
  const weatherFor = async (): Promise<Weather | null> => {
    const serviceKey = configuredKey(KMA_SERVICE_KEY.value());
    if (!serviceKey) return null;
    const kma = createKmaClient({
      serviceKey,
      ...ctx.deps.settings.kma,
      cache: firestoreWeatherCache(ctx.deps.db, ctx.deps.now),
    });
    if (cachedOnly) return kma.getCachedForecast(ctx.now);
    return kma.getForecast(ctx.now).catch((e: unknown) => {
      logger.warn("kma failed, tip without weather", {
        code: e instanceof KmaError ? e.code : "unknown",
        resultCode: e instanceof KmaError ? e.resultCode : null,
      });
      return null;
    });
  };
  const [{ rooms, grid }, weather] = await Promise.all([
    loadTipInputs(ctx.deps.db, ctx.room, ctx.now),
    weatherFor(),
  ]);
  const roomId = ctx.room?.roomId ?? null;
  return { now: ctx.now, locale: ctx.locale, roomId, rooms, grid, weather };
}

function statisticsTipFor(inputs: Awaited<ReturnType<typeof loadInputs>>) {
  return tipResponse(statisticsTip(inputs), "statistics", inputs);
}

/** Makes a tip: Gemini when configured and the statistics suffice, else (or on error) statistics. */
async function makeTip(ctx: TipContext): Promise<TipResponse> {
  const inputs = await loadInputs(ctx, { cachedOnly: false });
  const geminiKey = configuredKey(GEMINI_API_KEY.value());
  if (!geminiKey || !hasEnoughStatistics(inputs.grid)) return statisticsTipFor(inputs);
  const gemini = createGeminiClient(geminiKey, ctx.deps.settings.gemini);
  try {
    const sentence = await gemini.suggest(buildTipPrompt(inputs));
    return tipResponse(sentence, "gemini", inputs);
  } catch (e) {
    logger.warn("gemini failed, statistics tip", {
      code: e instanceof GeminiError ? e.code : "unknown",
      status: e instanceof GeminiError ? e.status : null,
      scope: ctx.scope,
    });
    return statisticsTipFor(inputs);
  }
}

async function getTip(ctx: TipContext): Promise<{ tip: TipResponse; cache: TipCacheState }> {
  const { db } = ctx.deps;
  const readCache = () => readCachedTip(db, ctx.scope, ctx.locale, ctx.now);
  const cached = await readCache();
  if (cached && ctx.now < cached.freshUntil) return { tip: cached.tip, cache: "hit" };

  const lease = await acquireTipLease(db, { scope: ctx.scope, locale: ctx.locale, now: ctx.now });
  if (!lease) {
    // Someone else is remaking it: never a second Gemini call.
    const latest = (await readCache()) ?? cached;
    if (latest) {
      const fresh =
        ctx.now < latest.freshUntil && latest.tip.generatedAt !== cached?.tip.generatedAt;
      return { tip: latest.tip, cache: fresh ? "waited" : "stale" };
    }
    for (let waited = 0; waited < ctx.deps.settings.tipLeaseWaitMs; waited += LEASE_POLL_MS) {
      await sleep(LEASE_POLL_MS);
      const made = await readCache();
      if (made) return { tip: made.tip, cache: "waited" };
    }
    return { tip: statisticsTipFor(await loadInputs(ctx, { cachedOnly: true })), cache: "busy" };
  }

  try {
    // The previous holder may have finished between our read and our lease.
    const again = await readCache();
    if (again && ctx.now < again.freshUntil) return { tip: again.tip, cache: "hit" };
    const tip = await makeTip(ctx);
    await writeCachedTip(db, ctx.scope, ctx.locale, tip, ctx.now).catch((e: unknown) =>
      logger.warn("tip cache write failed", { scope: ctx.scope, error: String(e) }),
    );
    return { tip, cache: "miss" };
  } finally {
    await lease.release();
  }
}

export const tipRoutes = [
  defineRoute({
    method: "GET",
    path: "/tip",
    response: TipResponseSchema,
    auth: "user",
    query: RoomQuerySchema,
  }).handle(async ({ req, deps, user, query, headers }) => {
    const room = query.room_id ? await roomOr404(deps.db, query.room_id) : null;
    // Accept-Language when it names ko or en, else the user's stored locale, else ko.
    const locale =
      localeFromAcceptLanguage(req.headers["accept-language"]) ??
      resolveLocale((await refs(deps.db).user(user.uid).get()).get("locale"));
    const ctx: TipContext = {
      deps,
      now: deps.now(),
      room,
      scope: room?.roomId ?? "all",
      locale,
    };
    const { tip, cache } = await getTip(ctx);
    Object.assign(headers, {
      "X-Tip-Cache": cache,
      "Content-Language": ctx.locale,
      Vary: "Accept-Language",
    });
    // `tip_message`: the field the seed PWA (WashCall-Web) reads.
    return { ...tip, tip_message: tip.tip };
  }),
];
