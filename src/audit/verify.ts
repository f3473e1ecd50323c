import type { KeyObject } from 'node:crypto';
import type { AuditCheckpoint } from './checkpoints';
import { checkpointProblem, publicKeyRing } from './checkpoints';
import { leafHashOf } from './hash';
import type { AuditRecord } from './record';
import { AuditRecord as AuditRecordSchema, GENESIS_HASH } from './record';
import type { AuditStore } from './store';

/** What verification found. */
export interface VerifyResult {
  /** True when every record and checkpoint verified. */
  ok: boolean;
  /** Records verified before the first problem (all of them when `ok`). */
  checked: number;
  /** Checkpoints whose signature verified. */
  checkpoints: number;
  /** The last verified record, when there is one. */
  head?: { seq: number; leafHash: string };
  /** The first sequence number that is not what the chain and checkpoints say it must be. */
  firstBadSeq?: number;
  /** Why, in one sentence, for a person. */
  reason?: string;
}

/** Public keys, as PEM text or KeyObjects, or a ring built by `publicKeyRing`. */
export type PublicKeys = Iterable<KeyObject | string> | ReadonlyMap<string, KeyObject>;

interface Problem {
  seq: number;
  reason: string;
}

/**
 * Streaming ledger verifier: feed records in stored seq order with {@link LedgerVerifier.push} (it
 * returns false once a problem is found), then call {@link LedgerVerifier.finish}.
 *
 * It recomputes every leaf hash, checks that seqs run 1, 2, 3, ... and that each record's `prevHash`
 * is its predecessor's leaf hash, checks every checkpoint signature and that each checkpoint matches
 * the record at its seq, and that no checkpoint lies beyond the last record (truncation). Records
 * appended after the latest checkpoint can be cut off undetectably: checkpoint often, and keep
 * checkpoints (or the public head) somewhere the ledger's writers cannot reach.
 */
export class LedgerVerifier {
  private expected = 1;
  private prev = GENESIS_HASH;
  private prevRecordPrevHash: string | undefined;
  private checked = 0;
  private failure: Problem | undefined;
  private checkpointFailure: Problem | undefined;
  private pendingFork: AuditRecord | undefined;
  private readonly pinned = new Map<number, string[]>();
  private readonly maxCheckpointSeq: number = 0;
  private readonly validCheckpoints: number = 0;

  constructor(checkpoints: Iterable<unknown>, publicKeys: PublicKeys) {
    const ring =
      publicKeys instanceof Map
        ? (publicKeys as ReadonlyMap<string, KeyObject>)
        : publicKeyRing(publicKeys as Iterable<KeyObject | string>);
    for (const cp of checkpoints) {
      const problem = checkpointProblem(cp, ring);
      const seq = typeof cp === 'object' && cp !== null ? (cp as { seq?: unknown }).seq : undefined;
      if (problem) {
        const at = typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 1 ? seq : 1;
        if (!this.checkpointFailure || at < this.checkpointFailure.seq) {
          const which = typeof seq === 'number' ? `at seq ${seq}` : '(with no valid seq)';
          this.checkpointFailure = { seq: at, reason: `checkpoint ${which} ${problem}` };
        }
        continue;
      }
      const valid = cp as AuditCheckpoint;
      this.validCheckpoints++;
      this.maxCheckpointSeq = Math.max(this.maxCheckpointSeq, valid.seq);
      this.pinned.set(valid.seq, [...(this.pinned.get(valid.seq) ?? []), valid.leafHash]);
    }
  }

  /** Checks the next record (as stored, possibly malformed). Returns false once a problem was found. */
  push(raw: unknown): boolean {
    if (this.failure) return false;
    const e = this.expected;
    const parsed = AuditRecordSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return this.fail(e, `record ${e} is malformed (${issue?.path.join('.') ?? '?'}: ${issue?.message ?? ''})`);
    }
    const r = parsed.data;
    if (this.pendingFork) return this.resolveFork(r);
    if (leafHashOf(r) !== r.leafHash) {
      // Storage-level insertion shifts the genuine records up by one: the displaced one still hashes
      // under its old seq and claims the same predecessor as the record now in its place.
      if (r.seq === e && r.prevHash === this.prevRecordPrevHash && leafHashOf({ ...r, seq: e - 1 }) === r.leafHash) {
        return this.fail(e - 1, `record ${e - 1} was inserted: record ${e} is the genuine record ${e - 1} renumbered`);
      }
      return this.fail(e, `record ${e} was modified: its content does not match its leaf hash`);
    }
    if (r.seq !== e) {
      if (r.seq === e - 1 && r.prevHash === this.prevRecordPrevHash) {
        // Two intact records claim seq e-1 and the same predecessor: the next record tells which is genuine.
        this.pendingFork = r;
        return true;
      }
      return r.seq > e
        ? this.fail(e, `record ${e} is missing (the next record is ${r.seq}): deleted or moved`)
        : this.fail(e, `record ${e} is out of order (found record ${r.seq} in its place): inserted or reordered`);
    }
    if (r.prevHash !== this.prev) {
      return this.fail(
        e,
        `record ${e} does not chain to record ${e - 1}: a record before it was inserted, removed or replaced`,
      );
    }
    const pins = this.pinned.get(e);
    if (pins?.some((h) => h !== r.leafHash)) {
      return this.fail(
        e,
        `record ${e} differs from the signed checkpoint at seq ${e}: the ledger was rewritten up to here`,
      );
    }
    this.prevRecordPrevHash = r.prevHash;
    this.prev = r.leafHash;
    this.expected++;
    this.checked++;
    return true;
  }

  private resolveFork(next: AuditRecord): boolean {
    const e = this.expected;
    // An exact copy: the genuine record came first, the copy sits at e.
    if (this.pendingFork?.leafHash === this.prev)
      return this.fail(e, `record ${e - 1} appears twice: a copy was inserted at seq ${e}`);
    // If the chain continues from the second claimant, the first (already accepted at e-1) was inserted.
    return next.prevHash === this.pendingFork?.leafHash
      ? this.fail(
          e - 1,
          `record ${e - 1} was inserted: a second record ${e - 1} follows it and the chain continues from that one`,
        )
      : this.fail(e, `a forged copy of record ${e - 1} was inserted at seq ${e}`);
  }

  private fail(seq: number, reason: string): false {
    this.pendingFork = undefined;
    this.failure = { seq, reason };
    return false;
  }

  /** Ends verification and reports; call once, after the last record. */
  finish(): VerifyResult {
    if (this.pendingFork) {
      const e = this.expected;
      if (this.pendingFork.leafHash === this.prev)
        this.fail(e, `record ${e - 1} appears twice: a copy was inserted at seq ${e}`);
      else this.fail(e - 1, `record ${e - 1} appears twice: one of the two was inserted`);
    }
    if (!this.failure && this.maxCheckpointSeq > this.checked) {
      const from = this.checked + 1;
      this.failure = {
        seq: from,
        reason:
          `the ledger ends at record ${this.checked} but a signed checkpoint covers record ${this.maxCheckpointSeq}: ` +
          `records ${from}..${this.maxCheckpointSeq} were removed (truncated)`,
      };
    }
    const problem =
      this.checkpointFailure && (!this.failure || this.checkpointFailure.seq < this.failure.seq)
        ? this.checkpointFailure
        : this.failure;
    return {
      ok: !problem,
      checked: this.checked,
      checkpoints: this.validCheckpoints,
      ...(this.checked > 0 ? { head: { seq: this.checked, leafHash: this.prev } } : {}),
      ...(problem ? { firstBadSeq: problem.seq, reason: problem.reason } : {}),
    };
  }
}

/**
 * Verifies a whole ledger held in memory: records in stored seq order, every checkpoint, and the
 * public keys trusted to have signed them. Records and checkpoints are `unknown` on purpose: they come
 * from storage an attacker may have touched, and anything that is not a valid {@link AuditRecord} or
 * {@link AuditCheckpoint} is reported, never thrown.
 */
export function verifyLedger(
  records: Iterable<unknown>,
  checkpoints: Iterable<unknown>,
  publicKeys: PublicKeys,
): VerifyResult {
  const v = new LedgerVerifier(checkpoints, publicKeys);
  for (const r of records) if (!v.push(r)) break;
  return v.finish();
}

/**
 * Verifies a store's ledger by streaming it (memory stays flat). Checkpoints are read first, so records
 * appended meanwhile never make a valid ledger look truncated.
 */
export async function verifyStore(store: AuditStore, publicKeys: PublicKeys, batchSize = 5000): Promise<VerifyResult> {
  const v = new LedgerVerifier(await store.checkpoints(), publicKeys);
  outer: for await (const batch of store.scan(batchSize)) {
    for (const r of batch) if (!v.push(r)) break outer;
  }
  return v.finish();
}
