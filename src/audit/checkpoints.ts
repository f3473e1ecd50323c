import type { KeyObject } from 'node:crypto';
import { createHash, createPublicKey, sign, verify } from 'node:crypto';
import { z } from 'zod';
import { canonicalJson } from './hash';
import { HexDigest } from './record';

/**
 * A signed statement "the ledger's record `seq` has leaf hash `leafHash`", made at `ts` with the key
 * `keyId`. Because each leaf hash commits to every record before it, a checkpoint pins the whole prefix:
 * records cannot be rewritten, removed or truncated below it without the signature failing to match.
 */
export const AuditCheckpoint = z.strictObject({
  seq: z.number().int().min(1),
  leafHash: HexDigest,
  ts: z.iso.datetime({ offset: false }),
  keyId: z.string().min(1).max(100),
  /** Ed25519 signature (base64) over {@link checkpointPayload}. */
  signature: z.string().min(1),
});
/** A signed checkpoint. */
export type AuditCheckpoint = z.infer<typeof AuditCheckpoint>;

/** Domain-separation tag inside every signed payload, so a checkpoint signature means nothing elsewhere. */
export const CHECKPOINT_PAYLOAD_KIND = 'warden.audit.checkpoint.v1';

/** The exact bytes a checkpoint signature covers: RFC 8785 JSON of { kind, seq, leafHash, ts, keyId }. */
export function checkpointPayload(cp: Pick<AuditCheckpoint, 'seq' | 'leafHash' | 'ts' | 'keyId'>): Buffer {
  return Buffer.from(
    canonicalJson({ kind: CHECKPOINT_PAYLOAD_KIND, seq: cp.seq, leafHash: cp.leafHash, ts: cp.ts, keyId: cp.keyId }),
    'utf8',
  );
}

/** A key's id: `ed25519:` + the first 16 hex characters of sha256 over its public key (SPKI DER). */
export function keyIdOf(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const der = pub.export({ type: 'spki', format: 'der' });
  return `ed25519:${createHash('sha256').update(der).digest('hex').slice(0, 16)}`;
}

/** Signs checkpoints with one Ed25519 private key. */
export interface CheckpointSigner {
  /** Id recorded in each checkpoint (see {@link keyIdOf}). */
  readonly keyId: string;
  /** The public half, for verification. */
  readonly publicKey: KeyObject;
  /** Signs `{ seq, leafHash }` (a record's own seq and leaf hash) at `ts` (default now). */
  sign(head: { seq: number; leafHash: string }, ts?: string): AuditCheckpoint;
}

/** Builds a signer from an Ed25519 private key. @throws TypeError when the key is not an Ed25519 private key. */
export function createCheckpointSigner(privateKey: KeyObject): CheckpointSigner {
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'ed25519') {
    throw new TypeError(`the audit signing key must be an Ed25519 private key, not ${privateKey.asymmetricKeyType}`);
  }
  const publicKey = createPublicKey(privateKey);
  const keyId = keyIdOf(publicKey);
  return {
    keyId,
    publicKey,
    sign(head, ts = new Date().toISOString()) {
      const unsigned = { seq: head.seq, leafHash: head.leafHash, ts, keyId };
      return { ...unsigned, signature: sign(null, checkpointPayload(unsigned), privateKey).toString('base64') };
    },
  };
}

/** Public keys by key id, for verification. Accepts KeyObjects or PEM text (public or private; only the public half is kept). */
export function publicKeyRing(keys: Iterable<KeyObject | string>): Map<string, KeyObject> {
  const ring = new Map<string, KeyObject>();
  for (const k of keys) {
    const pub = typeof k !== 'string' && k.type === 'public' ? k : createPublicKey(k);
    if (pub.asymmetricKeyType !== 'ed25519') {
      throw new TypeError(`audit public keys must be Ed25519, not ${pub.asymmetricKeyType}`);
    }
    ring.set(keyIdOf(pub), pub);
  }
  return ring;
}

/** Checks one checkpoint's shape and signature; returns what is wrong, or undefined when it is valid. */
export function checkpointProblem(cp: unknown, keys: ReadonlyMap<string, KeyObject>): string | undefined {
  const parsed = AuditCheckpoint.safeParse(cp);
  if (!parsed.success)
    return `is malformed (${parsed.error.issues[0]?.path.join('.') ?? '?'}: ${parsed.error.issues[0]?.message ?? ''})`;
  const key = keys.get(parsed.data.keyId);
  if (!key) {
    return `is signed by key ${parsed.data.keyId}, which is not among the trusted public keys (pass it with --public-key)`;
  }
  const ok = verify(null, checkpointPayload(parsed.data), key, Buffer.from(parsed.data.signature, 'base64'));
  return ok ? undefined : 'has an invalid signature (the checkpoint or its signature was altered)';
}
