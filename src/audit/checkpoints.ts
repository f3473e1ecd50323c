import type { KeyObject } from 'node:crypto';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { z } from 'zod';
import { canonicalJson, sha256Hex } from './hash';
import { GENESIS_HASH, HexDigest } from './record';

/**
 * A signed statement "the ledger's record `seq` has leaf hash `leafHash`, and the checkpoint before this
 * one hashes to `prevCheckpoint`", made at `ts` with the key `keyId`.
 *
 * Each leaf hash commits to every record before it, so a checkpoint pins the whole record prefix; each
 * checkpoint also commits to the previous checkpoint, so checkpoints form a chain of their own: deleting,
 * replacing or reordering one breaks the link of the next. The first checkpoint's `prevCheckpoint` is
 * {@link GENESIS_HASH}.
 */
export const AuditCheckpoint = z.strictObject({
  seq: z.number().int().min(1),
  leafHash: HexDigest,
  /** {@link checkpointHash} of the previous checkpoint ({@link GENESIS_HASH} for the first). */
  prevCheckpoint: HexDigest,
  ts: z.iso.datetime({ offset: false }),
  keyId: z.string().min(1).max(100),
  /** Ed25519 signature (base64) over {@link checkpointPayload}. */
  signature: z.string().min(1).max(200),
});
/** A signed checkpoint. */
export type AuditCheckpoint = z.infer<typeof AuditCheckpoint>;

/** A checkpoint before it is signed. */
export type UnsignedCheckpoint = Omit<AuditCheckpoint, 'signature'>;

/** Domain-separation tag inside every signed payload, so a checkpoint signature means nothing elsewhere. */
export const CHECKPOINT_PAYLOAD_KIND = 'warden.audit.checkpoint.v2';

/**
 * The exact bytes a checkpoint signature covers: RFC 8785 JSON of
 * `{ kind, seq, leafHash, prevCheckpoint, ts, keyId }`. An external signer receives these bytes.
 */
export function checkpointPayload(cp: UnsignedCheckpoint): Buffer {
  return Buffer.from(
    canonicalJson({
      kind: CHECKPOINT_PAYLOAD_KIND,
      seq: cp.seq,
      leafHash: cp.leafHash,
      prevCheckpoint: cp.prevCheckpoint,
      ts: cp.ts,
      keyId: cp.keyId,
    }),
    'utf8',
  );
}

/** The hash the next checkpoint links to: sha256 over the RFC 8785 JSON of every field, signature included. */
export function checkpointHash(cp: AuditCheckpoint): string {
  return sha256Hex(
    canonicalJson({
      seq: cp.seq,
      leafHash: cp.leafHash,
      prevCheckpoint: cp.prevCheckpoint,
      ts: cp.ts,
      keyId: cp.keyId,
      signature: cp.signature,
    }),
  );
}

/** The `prevCheckpoint` a new checkpoint after `latest` carries. */
export function nextPrevCheckpoint(latest: AuditCheckpoint | undefined): string {
  return latest ? checkpointHash(latest) : GENESIS_HASH;
}

/** A key's id: `ed25519:` + the first 16 hex characters of sha256 over its public key (SPKI DER). */
export function keyIdOf(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const der = pub.export({ type: 'spki', format: 'der' });
  return `ed25519:${createHash('sha256').update(der).digest('hex').slice(0, 16)}`;
}

/**
 * How a worker thread rebuilds a signer (threads cannot share functions): the private key itself, or
 * the external command and its public key. Holds secret material: never log it.
 */
export type SignerSpec =
  | { kind: 'key'; privateKeyPem: string }
  | { kind: 'command'; command: string; publicKeyPem: string; timeoutMs: number };

/** Signs checkpoints with one Ed25519 key, held in this process or by an external signer. */
export interface CheckpointSigner {
  /** Id recorded in each checkpoint (see {@link keyIdOf}). */
  readonly keyId: string;
  /** The public half, for verification. */
  readonly publicKey: KeyObject;
  /** What the signer is, for messages: `key file …` or `signer command`. Never secret. */
  readonly description: string;
  /** Ed25519 signature over `payload`. @throws when the signer fails (the caller retries later). */
  signPayload(payload: Buffer): Promise<Buffer>;
  /** The recipe for a worker thread; secret (see {@link SignerSpec}). */
  threadSpec(): SignerSpec;
}

/**
 * Signs a checkpoint of `head` linked to `prevCheckpoint` at `ts`, and checks the signature before
 * returning it, so a misbehaving external signer can never store a checkpoint that fails verification.
 * @throws Error when the signer fails or returns a signature that does not verify.
 */
export async function signCheckpoint(
  signer: CheckpointSigner,
  head: { seq: number; leafHash: string },
  prevCheckpoint: string,
  ts: string,
): Promise<AuditCheckpoint> {
  const unsigned: UnsignedCheckpoint = {
    seq: head.seq,
    leafHash: head.leafHash,
    prevCheckpoint,
    ts,
    keyId: signer.keyId,
  };
  const payload = checkpointPayload(unsigned);
  const signature = await signer.signPayload(payload);
  if (!verify(null, payload, signer.publicKey, signature)) {
    throw new Error(
      `the ${signer.description} returned a signature that does not verify with key ${signer.keyId}: check that its public key is the one configured`,
    );
  }
  return { ...unsigned, signature: signature.toString('base64') };
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
