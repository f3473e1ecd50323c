import type { KeyObject } from 'node:crypto';
import { generateKeyPairSync, sign } from 'node:crypto';
import type { AuditCheckpoint, AuditRecord, CheckpointSigner } from '../../src/audit';
import {
  GENESIS_HASH,
  KNOWN_AUDIT_TYPES,
  canonicalJson,
  checkpointPayload,
  createCheckpointSigner,
  keyIdOf,
  leafHashOf,
  nextPrevCheckpoint,
  parseAppendInput,
} from '../../src/audit';
import { unsealed } from '../../src/audit/record';
import { seal } from '../../src/audit/store';

/** Deterministic PRNG (mulberry32): the same seed gives the same mutations on every machine. */
export function prng(seed: number): {
  next(): number;
  int(lo: number, hi: number): number;
  pick<T>(xs: readonly T[]): T;
} {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  return { next, int, pick: (xs) => xs[int(0, xs.length - 1)]! };
}

/** The i-th record's content, varied in every field the hash covers. */
export function fixtureInput(i: number) {
  return {
    idempotencyKey: `run-${i % 3}/audit/${i}`,
    workflowId: `wf-${i % 3}`,
    ...(i % 4 ? { runId: `run-${i % 3}` } : {}),
    type: KNOWN_AUDIT_TYPES[i % KNOWN_AUDIT_TYPES.length]!,
    actor: { kind: (['system', 'agent', 'human'] as const)[i % 3]!, id: i % 3 === 2 ? 'alice' : 'alert-scorer' },
    data: {
      i,
      argsDigest: `sha256:${(i * 7919).toString(16).padStart(64, '0')}`,
      reason: i % 5 ? 'rule matched' : 'ünïcødé ✓ "quoted"',
      nested: { tokens: { input: i * 10, output: i }, tools: ['lookup_ip', i % 2 ? 'isolate_host' : 'notify'] },
    },
    ...(i % 2 ? { traceId: i.toString(16).padStart(32, '0'), spanId: i.toString(16).padStart(16, '0') } : {}),
    ts: new Date(Date.UTC(2025, 0, 1) + i * 1000).toISOString(),
  };
}

/** Seals record `seq` of a chain after `prevHash`. */
export function sealAt(i: number, seq: number, prevHash: string): AuditRecord {
  return seal(unsealed(parseAppendInput(fixtureInput(i)), seq, prevHash, () => new Date()));
}

/** A test key: the signer the ledger uses, and the private key for signing fixtures synchronously. */
export interface TestKey {
  privateKey: KeyObject;
  signer: CheckpointSigner;
}

/** A fresh Ed25519 test key. */
export function testKey(): TestKey {
  const { privateKey } = generateKeyPairSync('ed25519');
  return { privateKey, signer: createCheckpointSigner(privateKey) };
}

/** Signs a checkpoint of `head` after `previous` (undefined: the first), synchronously. */
export function signWith(
  key: KeyObject,
  head: { seq: number; leafHash: string },
  previous: AuditCheckpoint | undefined,
  ts = '2025-06-01T00:00:00.000Z',
): AuditCheckpoint {
  const unsigned = {
    seq: head.seq,
    leafHash: head.leafHash,
    prevCheckpoint: nextPrevCheckpoint(previous),
    ts,
    keyId: keyIdOf(key),
  };
  return { ...unsigned, signature: sign(null, checkpointPayload(unsigned), key).toString('base64') };
}

/** Signs a whole chain of checkpoints, one at each of `seqs`, over `records`. */
export function signChain(key: KeyObject, records: readonly AuditRecord[], seqs: readonly number[]): AuditCheckpoint[] {
  const out: AuditCheckpoint[] = [];
  for (const seq of seqs) out.push(signWith(key, records[seq - 1]!, out[out.length - 1], records[seq - 1]!.ts));
  return out;
}

/** A valid ledger of `n` records with a chained, signed checkpoint every `every` records. */
export function buildLedger(
  n: number,
  every: number,
  key: KeyObject,
): { records: AuditRecord[]; checkpoints: AuditCheckpoint[] } {
  const records: AuditRecord[] = [];
  let prev = GENESIS_HASH;
  for (let seq = 1; seq <= n; seq++) {
    const r = sealAt(seq, seq, prev);
    records.push(r);
    prev = r.leafHash;
  }
  const seqs = records.filter((r) => r.seq % every === 0).map((r) => r.seq);
  return { records, checkpoints: signChain(key, records, seqs) };
}

/** A record forged to sit at `seq` after `prevHash`: self-consistent (the forger can hash too). */
export function forge(seq: number, prevHash: string, note: string): AuditRecord {
  const base = unsealed(parseAppendInput(fixtureInput(seq)), seq, prevHash, () => new Date());
  const r = { ...base, idempotencyKey: `forged/${note}`, data: { ...base.data, forged: note } };
  return { ...r, leafHash: leafHashOf(r) };
}

/**
 * The tamper oracle: the first (1-based) position where a mutated ledger differs from the genuine one.
 * It knows nothing about how verification works, so a verifier that names the wrong record fails.
 */
export function firstDifference(original: readonly unknown[], mutated: readonly unknown[]): number | undefined {
  for (let i = 0; i < Math.max(original.length, mutated.length); i++) {
    // Canonical JSON: a store hands data back with its keys sorted, which is no difference.
    if (canonicalJson(original[i] ?? null) !== canonicalJson(mutated[i] ?? null)) return i + 1;
  }
  return undefined;
}
