/**
 * Device secrets at rest. Both device auth modes (legacy `secret_key` and HS256 JWT) need the
 * secret itself, so it is stored encrypted (AES-256-GCM, key derived from the master key
 * secret), never hashed or in plaintext, and compared in constant time.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from "node:crypto";
import { z } from "zod";

/** A stored record's encrypted part (deviceSecrets/{machineId} also holds its fingerprint). */
export const EncryptedSecretSchema = z.object({
  ciphertext: z.string(),
  iv: z.string(),
  tag: z.string(),
});
export type EncryptedSecret = z.output<typeof EncryptedSecretSchema>;

function keyFrom(masterKey: string): Buffer {
  if (masterKey.length < 16) throw new Error("DEVICE_MASTER_KEY must be at least 16 characters");
  return createHash("sha256").update(masterKey, "utf8").digest();
}

/** The machine id is authenticated data: a record copied to another machine does not decrypt. */
const aad = (machineId: string) => Buffer.from(`machine:${machineId}`, "utf8");

export function encryptSecret(plain: string, masterKey: string, machineId: string) {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", keyFrom(masterKey), iv);
  cipher.setAAD(aad(machineId));
  const ciphertext = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
  return {
    ciphertext: ciphertext.toString("base64"),
    iv: iv.toString("base64"),
    tag: cipher.getAuthTag().toString("base64"),
  };
}

export function decryptSecret(enc: EncryptedSecret, masterKey: string, machineId: string) {
  const decipher = createDecipheriv(
    "aes-256-gcm",
    keyFrom(masterKey),
    Buffer.from(enc.iv, "base64"),
  );
  decipher.setAAD(aad(machineId));
  decipher.setAuthTag(Buffer.from(enc.tag, "base64"));
  return Buffer.concat([
    decipher.update(Buffer.from(enc.ciphertext, "base64")),
    decipher.final(),
  ]).toString("utf8");
}

/** Constant-time comparison that does not leak the length either. */
export function secretsEqual(a: string, b: string): boolean {
  const da = createHash("sha256").update(a, "utf8").digest();
  const db = createHash("sha256").update(b, "utf8").digest();
  return timingSafeEqual(da, db);
}

/**
 * A keyed fingerprint of a device secret (HMAC-SHA256 under the master key), stored beside the
 * encrypted record so that a secret reused on another machine can be found with one query,
 * without decrypting every record and without storing anything a leaked database could
 * brute-force offline.
 */
export function secretFingerprint(plain: string, masterKey: string): string {
  // A key of its own (HKDF with a label), not the encryption key.
  const key = Buffer.from(
    hkdfSync("sha256", keyFrom(masterKey), "", "washcall device secret fingerprint", 32),
  );
  return createHmac("sha256", key).update(plain, "utf8").digest("base64url");
}

/** Secrets known to ship in public firmware and examples: accepted, but never quietly. */
const PUBLISHED_SECRETS = new Set(["secret_key_123", "secret", "password", "12345678", "changeme"]);

/** An admin-chosen secret (admin API and console) goes into the firmware's C string literal. */
export const ChosenSecretSchema = z
  .string()
  .min(1, "must not be empty")
  .max(256, "must be at most 256 characters")
  .regex(/^[\x20-\x7e]+$/, "must be printable ASCII (it goes into the firmware's C string)");

/**
 * Why an admin-chosen secret is weak (empty when it is not). Weak secrets are accepted (a fleet's
 * firmware may already carry one) with these reasons shown to the admin.
 */
export function weakSecretReasons(plain: string): string[] {
  const reasons: string[] = [];
  if (PUBLISHED_SECRETS.has(plain.toLowerCase()) || /^demo-secret-\d+$/.test(plain)) {
    reasons.push("it is published in firmware source or examples");
  }
  if (plain.length < 16) reasons.push("it is shorter than 16 characters");
  if (new Set(plain).size < 8) reasons.push("it has fewer than 8 distinct characters");
  return reasons;
}
