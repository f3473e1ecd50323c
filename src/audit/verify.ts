import { leafHashOf } from './hash';
import type { AuditRecord } from './record';
import { AuditRecord as AuditRecordSchema, GENESIS_HASH } from './record';
import type { Backlog } from './store';
import type { Anchors, Problem, PublicKeys } from './verify-anchors';
import { collectAnchors, toRing } from './verify-anchors';
import type { WitnessEntry } from './witness';

export type { PublicKeys } from './verify-anchors';

/** What verification found. */
export interface VerifyResult {
  /** True when every record, checkpoint and witness entry verified (and the ledger is fresh, if asked). */
  ok: boolean;
  /** Records verified before the first problem (all of them when `ok`). */
  checked: number;
  /** Checkpoints whose signature verified. */
  checkpoints: number;
  /** The last verified record, when there is one. */
  head?: { seq: number; leafHash: string };
  /** The newest validly signed checkpoint. */
  latestCheckpoint?: { seq: number; ts: string; keyId: string };
  /** Witness entries that verified and match the ledger (when a witness was given). */
  witnessed?: number;
  /** Records accepted but not sealed yet (PostgreSQL): not covered by this verification. */
  backlog?: Backlog;
  /** The first sequence number that is not what the chain, checkpoints and witness say it must be. */
  firstBadSeq?: number;
  /** Why, in one sentence, for a person. */
  reason?: string;
}

/**
 * How far records may outrun the newest checkpoint before verification fails: a ledger that is not
 * being anchored is as good as unsigned, and a deleted tail of checkpoints shows up this way.
 */
export interface Freshness {
  /** Fail when more records than this follow the newest checkpoint. */
  maxRecords: number;
  /** Fail when the oldest record after the newest checkpoint is older than this (ms; 0: no time limit). */
  maxAgeMs: number;
  /** The time to judge against. @default now */
  now?: Date;
}

/** Options of {@link LedgerVerifier}. */
export interface VerifierOptions {
  /** Witnessed checkpoints (read from outside the database): each must be in the ledger, identical. */
  witness?: readonly WitnessEntry[];
}

/**
 * Streaming ledger verifier: feed records in stored seq order with {@link LedgerVerifier.push} (it
 * returns false once a problem is found), then call {@link LedgerVerifier.finish}.
 *
 * It recomputes every leaf hash, checks that seqs run 1, 2, 3, ... and that each record's `prevHash`
 * is its predecessor's leaf hash, checks every checkpoint signature, the checkpoint chain, that each
 * checkpoint (and witness entry) matches the record at its seq, and that no checkpoint lies beyond the
 * last record (truncation). Without a witness, records after the newest checkpoint can be cut off or
 * rewritten unnoticed, and so can the newest checkpoints with them: see docs/audit-ledger.md.
 */
export class LedgerVerifier {
  private expected = 1;
  private prev = GENESIS_HASH;
  private prevRecordPrevHash: string | undefined;
  private checked = 0;
  private failure: Problem | undefined;
  private pendingFork: AuditRecord | undefined;
  private firstUncoveredTs: string | undefined;
  /** What the checkpoints and witness pin (read by the fast path in verify-store.ts). */
  readonly anchors: Anchors;

  constructor(checkpoints: Iterable<unknown>, publicKeys: PublicKeys, opts: VerifierOptions = {}) {
    this.anchors = collectAnchors(checkpoints, toRing(publicKeys), opts.witness);
  }

  /** Records verified so far and the last one's hashes; `settled` is false while a decision is pending. */
  get position(): { seq: number; leafHash: string; settled: boolean; failed: boolean } {
    return { seq: this.checked, leafHash: this.prev, settled: !this.pendingFork, failed: !!this.failure };
  }

  /**
   * Accepts records up to `seq` as verified without seeing them: for a caller that proved them some
   * other way (every leaf hash recomputed, chained, and pinned at `seq` by a valid checkpoint).
   */
  skipVerified(to: { seq: number; leafHash: string; prevHash: string }): void {
    this.expected = to.seq + 1;
    this.checked = to.seq;
    this.prev = to.leafHash;
    this.prevRecordPrevHash = to.prevHash;
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
    const pins = this.anchors.pins.get(e);
    if (pins?.some((h) => h !== r.leafHash)) {
      return this.fail(
        e,
        `record ${e} differs from the signed checkpoint at seq ${e}: the ledger was rewritten up to here`,
      );
    }
    if (e === (this.anchors.latest?.seq ?? 0) + 1) this.firstUncoveredTs = r.ts;
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
  finish(freshness?: Freshness): VerifyResult {
    if (this.pendingFork) {
      const e = this.expected;
      if (this.pendingFork.leafHash === this.prev)
        this.fail(e, `record ${e - 1} appears twice: a copy was inserted at seq ${e}`);
      else this.fail(e - 1, `record ${e - 1} appears twice: one of the two was inserted`);
    }
    const a = this.anchors;
    if (!this.failure && a.maxPinnedSeq > this.checked) {
      const from = this.checked + 1;
      this.failure = {
        seq: from,
        reason:
          `the ledger ends at record ${this.checked} but a signed checkpoint covers record ${a.maxPinnedSeq}: ` +
          `records ${from}..${a.maxPinnedSeq} were removed (truncated, or the ledger was rolled back)`,
      };
    }
    // Staleness only speaks for a ledger whose anchors are sound: a bad or untrusted checkpoint says more.
    if (!this.failure && !a.problem && freshness) this.failure = this.staleness(freshness);
    const problem = a.problem && (!this.failure || a.problem.seq < this.failure.seq) ? a.problem : this.failure;
    return {
      ok: !problem,
      checked: this.checked,
      checkpoints: a.valid,
      ...(this.checked > 0 ? { head: { seq: this.checked, leafHash: this.prev } } : {}),
      ...(a.latest ? { latestCheckpoint: { seq: a.latest.seq, ts: a.latest.ts, keyId: a.latest.keyId } } : {}),
      ...(problem ? { firstBadSeq: problem.seq, reason: problem.reason } : {}),
    };
  }

  private staleness(f: Freshness): Problem | undefined {
    const last = this.anchors.latest?.seq ?? 0;
    const open = this.checked - last;
    if (open <= 0) return undefined;
    const fix =
      'sign one with `warden audit checkpoint` if these records are genuine, and find out why the ledger is not being anchored';
    if (last === 0) {
      return { seq: 1, reason: `no signed checkpoint covers any of the ${this.checked} records: ${fix}` };
    }
    if (open > f.maxRecords) {
      return {
        seq: last + 1,
        reason: `${open} records (${last + 1}..${this.checked}) follow the newest signed checkpoint (seq ${last}), more than the ${f.maxRecords} allowed: ${fix}`,
      };
    }
    const age = (f.now ?? new Date()).getTime() - Date.parse(this.firstUncoveredTs ?? '');
    if (f.maxAgeMs > 0 && age > f.maxAgeMs) {
      return {
        seq: last + 1,
        reason: `record ${last + 1} has waited ${Math.round(age / 1000)} s for a signed checkpoint, longer than the ${Math.round(f.maxAgeMs / 1000)} s allowed: ${fix}`,
      };
    }
    return undefined;
  }
}

/**
 * Verifies a whole ledger held in memory: records in stored seq order, every checkpoint, and the
 * public keys trusted to have signed them. Records and checkpoints are `unknown` on purpose: they come
 * from storage an attacker may have touched, and anything that is not a valid {@link AuditRecord} or
 * checkpoint is reported, never thrown.
 */
export function verifyLedger(
  records: Iterable<unknown>,
  checkpoints: Iterable<unknown>,
  publicKeys: PublicKeys,
  opts: VerifierOptions & { freshness?: Freshness } = {},
): VerifyResult {
  const v = new LedgerVerifier(checkpoints, publicKeys, opts);
  for (const r of records) if (!v.push(r)) break;
  const result = v.finish(opts.freshness);
  return opts.witness ? { ...result, witnessed: v.anchors.witnessed } : result;
}
