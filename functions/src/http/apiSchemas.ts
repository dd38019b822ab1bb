/** What several routes share: the seed's on/off flag and the client platforms. */
import { z } from "zod";

/** The seed's on/off flag: 1 or 0 (booleans accepted too). Output: boolean. */
export const OnOffSchema = z
  .union([z.literal(0), z.literal(1), z.boolean()], { error: "must be 1 (on) or 0 (off)" })
  .transform((v) => v === 1 || v === true);

export const PLATFORMS = ["web", "android", "ios"] as const;
