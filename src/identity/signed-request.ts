import { ed25519 } from '@noble/curves/ed25519';
import { sha256 } from '@noble/hashes/sha256';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils';
import { z } from 'zod';

/*
 * Signed requests: what a principal signs to approve, reject, pause, cancel or flip the kill switch, and
 * how it is verified. Pure JavaScript (ed25519 from @noble/curves) and workflow-safe: a run verifies the
 * signatures on its own messages inside its signal handlers, deterministically, on every replay.
 *
 * The signed message binds the purpose and every field the receiver acts on, plus a nonce, the signing
 * time and the key id, as a JSON array of strings (unambiguous, no canonicalisation needed):
 *   ["warden-signed/v1", purpose, ...fields, nonce, signedAt, keyId]
 */

/** How long a signature stays acceptable after it was made, and how far ahead of the receiver's clock it may be. */
export const SIGNATURE_MAX_AGE_MS = 15 * 60_000;
export const SIGNATURE_MAX_SKEW_MS = 2 * 60_000;

/** The signature a request carries. */
export const Signature = z
  .object({
    keyId: z.string().min(1).max(200),
    /** 16 random bytes, hex: a request is accepted once per nonce. */
    nonce: z.string().regex(/^[0-9a-f]{32}$/, 'nonce must be 32 lowercase hex characters'),
    signedAt: z.string().datetime({ offset: false }),
    /** ed25519 signature, hex (128 characters). */
    sig: z.string().regex(/^[0-9a-f]{128}$/, 'sig must be an ed25519 signature in lowercase hex (128 characters)'),
  })
  .strict();
/** The signature a request carries. */
export type Signature = z.infer<typeof Signature>;

/** What a signature is for; part of the signed message, so one purpose's signature never serves another. */
export type SignedPurpose = 'approval' | 'control' | 'kill-switch' | 'start';

/** A public key as the directory lists it, with its state. */
export interface VerificationKey {
  id: string;
  /** `ed25519:<64 hex>` */
  publicKey: string;
  /** Set when the key was revoked: signatures made with it are refused. */
  revokedAt?: string;
}

/** Lowercase hex sha256 of a UTF-8 string (reason digests). Workflow-safe. */
export function digestText(text: string | undefined): string {
  return bytesToHex(sha256(utf8ToBytes(text ?? '')));
}

/** The exact bytes a principal signs. */
export function signedMessage(purpose: SignedPurpose, fields: string[], s: Omit<Signature, 'sig'>): Uint8Array {
  return utf8ToBytes(JSON.stringify(['warden-signed/v1', purpose, ...fields, s.nonce, s.signedAt, s.keyId]));
}

/** The raw 32-byte public key of `ed25519:<hex>`, or undefined when malformed. */
export function publicKeyBytes(publicKey: string): Uint8Array | undefined {
  const m = /^ed25519:([0-9a-f]{64})$/.exec(publicKey);
  if (!m) return undefined;
  const hex = m[1]!;
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Why a signature was refused, or ok. */
export type Verification = { ok: true; keyId: string } | { ok: false; reason: string };

/**
 * Verifies a signed request against the signer's keys: present, made with one of the principal's
 * unrevoked keys, fresh (not older than {@link SIGNATURE_MAX_AGE_MS}, not from the future), not a nonce
 * already used, and a valid ed25519 signature over exactly these fields. Never throws.
 * @param usedNonces nonces already accepted by this receiver; the caller adds the nonce once it accepts.
 */
export function verifySignedRequest(args: {
  purpose: SignedPurpose;
  fields: string[];
  signature: Signature | undefined;
  principal: string;
  keys: VerificationKey[] | undefined;
  nowMs: number;
  usedNonces: ReadonlySet<string>;
}): Verification {
  const { signature: s, principal } = args;
  if (!s)
    return { ok: false, reason: `unsigned: ${principal} must sign the request (warden keys init --as ${principal})` };
  const keys = args.keys ?? [];
  if (!keys.length) return { ok: false, reason: `${principal} has no enrolled key in the principals directory` };
  const key = keys.find((k) => k.id === s.keyId);
  if (!key) return { ok: false, reason: `key ${s.keyId} is not enrolled for ${principal}` };
  if (key.revokedAt !== undefined)
    return { ok: false, reason: `key ${s.keyId} of ${principal} was revoked at ${key.revokedAt}` };
  const signedAt = Date.parse(s.signedAt);
  if (args.nowMs - signedAt > SIGNATURE_MAX_AGE_MS)
    return {
      ok: false,
      reason: `signature expired: made at ${s.signedAt}, accepted for ${SIGNATURE_MAX_AGE_MS / 60_000} minutes`,
    };
  if (signedAt - args.nowMs > SIGNATURE_MAX_SKEW_MS)
    return { ok: false, reason: `signature made in the future (${s.signedAt}): check the signer's clock` };
  if (args.usedNonces.has(s.nonce)) return { ok: false, reason: 'replayed: this signed request was already used' };
  const pub = publicKeyBytes(key.publicKey);
  if (!pub) return { ok: false, reason: `key ${s.keyId} of ${principal} is malformed in the directory` };
  let valid = false;
  try {
    valid = ed25519.verify(s.sig, signedMessage(args.purpose, args.fields, s), pub);
  } catch {
    valid = false;
  }
  if (!valid)
    return {
      ok: false,
      reason: `bad signature: not made by ${principal}'s key ${s.keyId} over this request (another run, action, decision or approver?)`,
    };
  return { ok: true, keyId: s.keyId };
}

/**
 * Proof of who started a run, carried in its input: the initiator's own signature (`warden run`), or a
 * service's MAC under the fleet key (the HTTP server for authenticated API callers and webhook sources).
 * Both cover the workflow id, the initiator and a digest of the input.
 */
export const StartAttestation = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('principal'), signature: Signature }).strict(),
  z
    .object({
      kind: z.literal('service'),
      service: z.string().min(1).max(100),
      issuedAt: z.string().datetime(),
      mac: z.string().regex(/^[0-9a-f]{64}$/),
    })
    .strict(),
]);
/** Proof of who started a run. */
export type StartAttestation = z.infer<typeof StartAttestation>;

/** The fields a kill-switch signature covers. */
export function killSwitchFields(governorId: string, s: { engaged: boolean; by: string; reason?: string }): string[] {
  return [governorId, s.engaged ? 'on' : 'off', s.by, digestText(s.reason)];
}

/** The fields a control signature covers: the run it is for (a forEach batch checks its parent run's id). */
export function controlFields(runWorkflowId: string, c: { action: string; by: string; reason?: string }): string[] {
  return [runWorkflowId, c.action, c.by, digestText(c.reason)];
}
