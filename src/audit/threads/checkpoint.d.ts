/**
 * Base64 (standard or url-safe, whitespace ignored) → a 64-byte Ed25519 signature (see checkpoint.js).
 * @throws Error saying what the signer command printed wrong.
 */
export function parseSignature(text: string): Buffer;
