import type { KeyObject } from 'node:crypto';
import type { AuditCheckpoint } from './checkpoints';
import { checkpointHash, checkpointProblem, publicKeyRing } from './checkpoints';
import { GENESIS_HASH } from './record';
import type { WitnessEntry } from './witness';

/** Public keys, as PEM text or KeyObjects, or a ring built by `publicKeyRing`. */
export type PublicKeys = Iterable<KeyObject | string> | ReadonlyMap<string, KeyObject>;

/** A problem at a sequence number, in one sentence. */
export interface Problem {
  seq: number;
  reason: string;
}

/**
 * What the checkpoints and the witness say the records must be: the leaf hash pinned at each seq by a
 * validly signed checkpoint (the ledger's or the witness's), and the first problem with the anchors
 * themselves (a bad signature, a broken checkpoint chain, a witness entry the ledger lacks).
 */
export interface Anchors {
  pins: Map<number, string[]>;
  /** Ledger checkpoints whose signature verified. */
  valid: number;
  /** The newest validly signed ledger checkpoint. */
  latest: AuditCheckpoint | undefined;
  /** The highest seq any valid checkpoint or witness entry pins: records must reach it. */
  maxPinnedSeq: number;
  /** Witness entries that verified and match the ledger. */
  witnessed: number;
  problem: Problem | undefined;
}

function seqOf(cp: unknown): number | undefined {
  const seq = typeof cp === 'object' && cp !== null ? (cp as { seq?: unknown }).seq : undefined;
  return typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 1 ? seq : undefined;
}

/** Builds a key ring from any {@link PublicKeys}. */
export function toRing(publicKeys: PublicKeys): ReadonlyMap<string, KeyObject> {
  return publicKeys instanceof Map
    ? (publicKeys as ReadonlyMap<string, KeyObject>)
    : publicKeyRing(publicKeys as Iterable<KeyObject | string>);
}

/**
 * Checks every checkpoint's signature and the checkpoint chain (each links to the hash of the one
 * before, the first to the genesis hash), then every witness entry: it must be validly signed and
 * appear, identical, among the ledger's checkpoints. Nothing here throws on hostile input.
 */
export function collectAnchors(
  checkpoints: Iterable<unknown>,
  ring: ReadonlyMap<string, KeyObject>,
  witness: readonly WitnessEntry[] = [],
): Anchors {
  const a: Anchors = {
    pins: new Map(),
    valid: 0,
    latest: undefined,
    maxPinnedSeq: 0,
    witnessed: 0,
    problem: undefined,
  };
  const report = (seq: number, reason: string) => {
    if (!a.problem || seq < a.problem.seq) a.problem = { seq, reason };
  };
  const pin = (seq: number, leafHash: string) => {
    a.pins.set(seq, [...(a.pins.get(seq) ?? []), leafHash]);
    a.maxPinnedSeq = Math.max(a.maxPinnedSeq, seq);
  };
  const valid: AuditCheckpoint[] = [];
  for (const cp of checkpoints) {
    const problem = checkpointProblem(cp, ring);
    const seq = seqOf(cp);
    if (problem) {
      report(seq ?? 1, `checkpoint ${seq !== undefined ? `at seq ${seq}` : '(with no valid seq)'} ${problem}`);
      continue;
    }
    valid.push(cp as AuditCheckpoint);
  }
  valid.sort((x, y) => x.seq - y.seq);
  let prev: AuditCheckpoint | undefined;
  const byHash = new Map<number, string>();
  for (const cp of valid) {
    a.valid++;
    pin(cp.seq, cp.leafHash);
    const expected = prev ? checkpointHash(prev) : GENESIS_HASH;
    if (cp.prevCheckpoint !== expected) {
      report(
        cp.seq,
        `checkpoint at seq ${cp.seq} does not link to ${prev ? `the checkpoint at seq ${prev.seq}` : 'the start of the checkpoint chain'}: a checkpoint before it was deleted, replaced or inserted`,
      );
    }
    byHash.set(cp.seq, checkpointHash(cp));
    prev = cp;
  }
  a.latest = prev;
  for (const w of witness) {
    const seq = seqOf(w.checkpoint);
    const problem = checkpointProblem(w.checkpoint, ring);
    if (problem) {
      report(seq ?? 1, `witness entry ${w.where} ${problem}`);
      continue;
    }
    const cp = w.checkpoint as AuditCheckpoint;
    pin(cp.seq, cp.leafHash);
    const mine = byHash.get(cp.seq);
    if (mine === checkpointHash(cp)) {
      a.witnessed++;
    } else if (mine === undefined) {
      report(
        cp.seq,
        `the witness (${w.where}) holds a signed checkpoint at seq ${cp.seq} that the ledger does not have: checkpoints were deleted, or the ledger was rolled back or rewritten`,
      );
    } else {
      report(
        cp.seq,
        `the ledger's checkpoint at seq ${cp.seq} differs from the one in the witness (${w.where}): the ledger's history was rewritten and re-signed`,
      );
    }
  }
  return a;
}
