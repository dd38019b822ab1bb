/**
 * Outside a deployment nothing resolves params: `defineInt("X", { default: 10 }).value()` reads
 * the bare environment and gives 0 when X is unset. The deploy CLI and the Functions emulator
 * export every param's default first; `applyParamDefaults()` does the same for the local stack
 * and the tests, so they run with the values production would. Secrets are left alone.
 */
import { declaredParams } from "firebase-functions/params";

export function applyParamDefaults(
  env: NodeJS.ProcessEnv = process.env,
  /** The params to default: those declared in this module graph unless given (see stack.ts). */
  params: readonly unknown[] = declaredParams,
): string[] {
  const applied: string[] = [];
  for (const param of params) {
    const p = param as { name: string; options?: { default?: unknown } };
    const def = p.options?.default;
    if (env[p.name] !== undefined) continue;
    if (typeof def !== "string" && typeof def !== "number" && typeof def !== "boolean") continue;
    env[p.name] = String(def);
    applied.push(p.name);
  }
  return applied;
}
