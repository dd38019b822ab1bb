/**
 * The document id of a device token (`users/{uid}/tokens/{tokenId}`): its SHA-256, so that a
 * token never appears in a path or a log.
 */
import { createHash } from "node:crypto";

export function tokenId(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}
