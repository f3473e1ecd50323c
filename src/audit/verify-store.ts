import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { HashPool, defaultRangeThreads, defaultVerifyThreads } from './hash-pool';
import type { AuditStore } from './store';
import { rawToRow, rowToRecord } from './store';
import type { RawRecordRow } from './threads/row-hash';
import { checkRows } from './threads/row-hash';
import type { Freshness, PublicKeys, VerifierOptions, VerifyResult } from './verify';
import { LedgerVerifier } from './verify';

/** Options for {@link verifyStore}. */
export interface VerifyStoreOptions extends VerifierOptions {
  /** Also fail when records outrun the newest checkpoint (see {@link Freshness}). */
  freshness?: Freshness;
  /** Hashing threads; default: none for small ledgers, else the cores but one. */
  threads?: number;
  /** Rows per batch read and hashed. @default 4096 */
  batchSize?: number;
  /** Fewest rows a range thread takes on a SQLite ledger (fewer are not worth a thread). @default 25,000 */
  minRowsPerThread?: number;
}

/** Ledgers smaller than this are hashed on the main thread: starting threads would cost more. */
const THREADS_FROM = 50_000;
/** Rows kept since the last pin before falling back to record-by-record verification. */
const MAX_SEGMENT = 100_000;
/** Batches hashed ahead of the chain check. */
const AHEAD = 4;

const seqOf = (row: RawRecordRow): number => Number(row[0]);

/**
 * Verifies a store's ledger by streaming one consistent snapshot (memory stays flat): every checkpoint
 * and the witness first, then the rows.
 *
 * Fast path: each row's leaf hash is recomputed straight from its stored columns (on worker threads
 * for large ledgers), and rows are checked for seq, chain link and pins; a run of rows that ends at a
 * validly signed checkpoint and passes is accepted without parsing (collision resistance makes those
 * rows the signed ones). Rows after the newest pin, and any run where something is off, go through
 * {@link LedgerVerifier} record by record, which decides and names the first bad record exactly as
 * `verifyLedger` does.
 */
export async function verifyStore(
  store: AuditStore,
  publicKeys: PublicKeys,
  opts: VerifyStoreOptions = {},
): Promise<VerifyResult> {
  const snap = await store.snapshot();
  try {
    const v = new LedgerVerifier(snap.checkpoints, publicKeys, opts);
    const large = snap.maxSeq >= THREADS_FROM;
    if (snap.rangeReader && (opts.threads ?? (large ? defaultRangeThreads() : 0)) > 0) {
      await verifyRanges(v, snap.rangeReader.sqliteFile, snap.maxSeq, {
        threads: opts.threads ?? defaultRangeThreads(),
        minRows: opts.minRowsPerThread ?? MIN_RANGE,
      });
    }
    const threads = v.position.seq > 0 ? 0 : (opts.threads ?? (large ? defaultVerifyThreads() : 0));
    const pool = threads > 0 ? new HashPool(threads) : undefined;
    try {
      await new FastPath(v, pool).run(snap.rows(opts.batchSize ?? 4096, v.position.seq));
    } finally {
      await pool?.close();
    }
    const result = v.finish(opts.freshness);
    return {
      ...result,
      ...(opts.witness ? { witnessed: v.anchors.witnessed } : {}),
      ...(snap.backlog.count ? { backlog: snap.backlog } : {}),
    };
  } finally {
    await snap.close();
  }
}

/** What a range thread found (threads/verify-range.js). */
interface RangeResult {
  ok: boolean;
  firstPrev: string | null;
  lastPrev: string | null;
  lastLeaf: string | null;
  pinLeaves: [number, string][];
  error?: string;
}

/** Rows each range thread takes at least: fewer are not worth a thread. */
const MIN_RANGE = 25_000;

/**
 * Verifies rows 1 up to the newest pin within the ledger on threads that each read and check their own
 * seq range (threads/verify-range.js), then joins the ranges end to end: each range must start where
 * the one before ended, and every pinned seq must hold the leaf hash its checkpoints sign. On success the
 * verifier moves past those rows; on any doubt it is left untouched and the caller's single-reader path
 * verifies from the start and names the first bad record exactly.
 */
export async function verifyRanges(
  v: LedgerVerifier,
  file: string,
  maxSeq: number,
  opts: { threads: number; minRows: number },
): Promise<void> {
  const last = [...v.anchors.pins.keys()].reduce((m, seq) => (seq <= maxSeq && seq > m ? seq : m), 0);
  if (last === 0) return;
  const n = Math.max(1, Math.min(opts.threads, Math.floor(last / opts.minRows)));
  const pins = [...v.anchors.pins.keys()].filter((seq) => seq <= last);
  const ranges = Array.from({ length: n }, (_, i) => ({
    from: Math.floor((last * i) / n) + 1,
    to: Math.floor((last * (i + 1)) / n),
  }));
  const results = await Promise.all(
    ranges.map((r) => runRange({ file, ...r, pins: pins.filter((seq) => seq >= r.from && seq <= r.to) })),
  );
  let prev = v.position.leafHash;
  for (const r of results) {
    if (!r.ok || r.firstPrev !== prev || r.lastLeaf === null) return;
    prev = r.lastLeaf;
    for (const [seq, leaf] of r.pinLeaves) if (v.anchors.pins.get(seq)!.some((h) => h !== leaf)) return;
  }
  v.skipVerified({ seq: last, leafHash: prev, prevHash: results[results.length - 1]!.lastPrev! });
}

function runRange(job: { file: string; from: number; to: number; pins: number[] }): Promise<RangeResult> {
  return new Promise((resolve) => {
    const w = new Worker(path.join(__dirname, 'threads', 'verify-range.js'), { workerData: job });
    let settled = false;
    const done = (r: RangeResult) => {
      if (settled) return;
      settled = true;
      resolve(r);
    };
    const failed = (error: string): RangeResult => ({
      ok: false,
      firstPrev: null,
      lastPrev: null,
      lastLeaf: null,
      pinLeaves: [],
      error,
    });
    w.once('message', (m: RangeResult) => done(m));
    w.once('error', (err) => done(failed(err.message)));
    w.once('exit', (code) => done(failed(`range thread exited with code ${code}`)));
  });
}

class FastPath {
  private readonly pinSeqs: number[];
  private pinIdx = 0;
  private segment: RawRecordRow[] = [];
  private base: number;
  private prevLeaf: string;
  private slow = false;
  private stopped = false;

  constructor(
    private readonly v: LedgerVerifier,
    private readonly pool: HashPool | undefined,
  ) {
    this.pinSeqs = [...v.anchors.pins.keys()].sort((a, b) => a - b);
    this.prevLeaf = v.position.leafHash;
    this.base = v.position.seq;
  }

  async run(batches: AsyncIterable<RawRecordRow[]>): Promise<void> {
    const queue: { rows: RawRecordRow[]; flags: Promise<Uint8Array> }[] = [];
    for await (const rows of batches) {
      queue.push({ rows, flags: this.pool ? this.pool.check(rows) : Promise.resolve(checkRows(rows)) });
      if (queue.length > AHEAD) await this.process(queue.shift()!);
      if (this.stopped) break;
    }
    for (const item of queue) {
      if (this.stopped) break;
      await this.process(item);
    }
    // The tail after the newest pin: record by record (it decides freshness and names exact problems).
    if (!this.stopped) this.replay();
  }

  private async process(item: { rows: RawRecordRow[]; flags: Promise<Uint8Array> }): Promise<void> {
    const flags = await item.flags;
    for (let i = 0; i < item.rows.length && !this.stopped; i++) {
      const row = item.rows[i]!;
      if (this.slow) {
        this.stopped = !this.v.push(rowToRecord(rawToRow(row)));
        this.resumeFastAtPin();
        continue;
      }
      this.segment.push(row);
      const pos = this.base + this.segment.length;
      const prev = this.segment.length > 1 ? this.segment[this.segment.length - 2]![12] : this.prevLeaf;
      if (flags[i] !== 1 || seqOf(row) !== pos || row[11] !== prev) {
        this.replay();
        continue;
      }
      while (this.pinSeqs[this.pinIdx] !== undefined && this.pinSeqs[this.pinIdx]! < pos) this.pinIdx++;
      if (this.pinSeqs[this.pinIdx] === pos) {
        if (this.v.anchors.pins.get(pos)!.some((h) => h !== row[12])) {
          this.replay();
          continue;
        }
        this.v.skipVerified({ seq: pos, leafHash: row[12] as string, prevHash: row[11] as string });
        this.base = pos;
        this.prevLeaf = row[12] as string;
        this.segment = [];
      } else if (this.segment.length >= MAX_SEGMENT) {
        this.replay();
      }
    }
  }

  /** Hands the rows since the last pin to the record-by-record verifier and stays there until a pin. */
  private replay(): void {
    this.slow = true;
    for (const row of this.segment) {
      if (!this.v.push(rowToRecord(rawToRow(row)))) {
        this.stopped = true;
        break;
      }
    }
    this.segment = [];
    if (!this.stopped) this.resumeFastAtPin();
  }

  private resumeFastAtPin(): void {
    const p = this.v.position;
    if (p.failed) {
      this.stopped = true;
      return;
    }
    if (!p.settled || !this.v.anchors.pins.has(p.seq)) return;
    this.slow = false;
    this.base = p.seq;
    this.prevLeaf = p.leafHash;
  }
}
