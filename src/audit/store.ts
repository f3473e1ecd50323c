import type { AuditCheckpoint, CheckpointSigner } from './checkpoints';
import { canonicalJson, leafHashOf } from './hash';
import type { AppendInput, AuditRecord, UnsealedRecord, parseAppendInput } from './record';
import type { RawRecordRow } from './threads/row-hash';

/** Filters for {@link AuditStore.list}. */
export interface AuditQuery {
  /** Only this run's records. */
  workflowId?: string;
  /** Only records with `seq >= fromSeq`. */
  fromSeq?: number;
  /** At most this many records (oldest first). @default 1000 */
  limit?: number;
}

/** What {@link AuditStore.appendMany} says about one record. */
export interface AppendReceipt {
  idempotencyKey: string;
  /**
   * The sealed record (seq, prevHash, leafHash assigned), or undefined when the record is durably
   * accepted but waits for the sealer (PostgreSQL): it will be sealed exactly once.
   */
  record: AuditRecord | undefined;
}

/** When and how a store signs checkpoints as it seals records (set by AuditLedger). */
export interface StoreCheckpointConfig {
  signer: CheckpointSigner;
  /** Sign once this many records follow the latest checkpoint. */
  every: number;
  /** Sign once the oldest record after the latest checkpoint is this old (ms; 0: by count only). */
  intervalMs: number;
  /** Also append every checkpoint to this witness dir, outside the database. */
  witnessDir: string | undefined;
  /** Told about checkpoints that could not be signed or witnessed (they are retried). */
  onWarning: (message: string) => void;
}

/** Records accepted but not sealed yet (PostgreSQL's intake; always empty for SQLite). */
export interface Backlog {
  count: number;
  /** `ts` of the oldest waiting record. */
  oldestTs?: string;
}

/**
 * One consistent read view of the ledger for verification: checkpoints, backlog and rows all come
 * from the same snapshot, so records sealed meanwhile neither appear nor look unanchored.
 */
export interface LedgerSnapshot {
  /** Every stored checkpoint in seq order, as stored (unvalidated). */
  checkpoints: AuditCheckpoint[];
  /** The highest stored seq (0 when empty): the size of the ledger, give or take tampering. */
  maxSeq: number;
  backlog: Backlog;
  /** Record rows in seq order (RECORD_COLUMNS order), in batches, from `afterSeq + 1` (default 1). Iterate once. */
  rows(batchSize?: number, afterSeq?: number): AsyncIterable<RawRecordRow[]>;
  /**
   * Where worker threads can read the same rows themselves, each a seq range in parallel (verify-store.ts);
   * absent when they cannot. Rows at or below a signed checkpoint never change, so the threads' own read
   * transactions see the rows this snapshot does there.
   */
  rangeReader?: { sqliteFile: string };
  /** Ends the snapshot. */
  close(): Promise<void>;
}

/**
 * Where ledger records and checkpoints live. Two implementations pass one shared test suite:
 * `SqliteAuditStore` (embedded default) and `PostgresAuditStore` (worker fleets).
 *
 * Appends are exactly-once and never fork the chain: a record is accepted only if its idempotency key
 * is new, and seq/prevHash/leafHash are assigned by one writer at a time across every process sharing
 * the store. The store never rewrites or deletes a record.
 */
export interface AuditStore {
  /** Which implementation this is. */
  readonly kind: 'sqlite' | 'postgres';
  /** Where the ledger lives, safe to print (file path, or PostgreSQL host/database without credentials). */
  readonly location: string;
  /**
   * Appends a record and returns it sealed, or returns the existing one unchanged when `idempotencyKey`
   * was appended before (a retried activity): never a duplicate, never a gap. On PostgreSQL this waits
   * for the sealer; {@link appendMany} does not.
   *
   * @throws ZodError / RangeError when the input is invalid (the caller's fault; do not retry);
   *   AuditKeyConflictError when the key already names a record of another run or type (a caller bug);
   *   database errors are transient and safe to retry with the same key.
   */
  append(input: AppendInput): Promise<AuditRecord>;
  /**
   * Appends records in order, exactly once each, and resolves once every one is durable. Validates all
   * of them first: one invalid input rejects the call and appends nothing.
   * @throws as {@link append}.
   */
  appendMany(inputs: readonly AppendInput[]): Promise<AppendReceipt[]>;
  /** Records in seq order, filtered; rows are returned as stored (verification is `verifyLedger`'s job). */
  list(query?: AuditQuery): Promise<AuditRecord[]>;
  /** The record with the highest seq, or undefined for an empty ledger. */
  head(): Promise<AuditRecord | undefined>;
  /**
   * Every record in seq order, in batches, from one consistent snapshot, exactly as stored (including
   * rows that no longer parse): the input of export.
   */
  scan(batchSize?: number): AsyncIterable<AuditRecord[]>;
  /** Opens a consistent read snapshot (the input of verification). Close it. */
  snapshot(): Promise<LedgerSnapshot>;
  /** Records accepted but not sealed yet. */
  backlog(): Promise<Backlog>;
  /** Stores a checkpoint as given; a second checkpoint for the same seq is ignored (idempotent). */
  addCheckpoint(checkpoint: AuditCheckpoint): Promise<void>;
  /** Every checkpoint, in seq order. */
  checkpoints(): Promise<AuditCheckpoint[]>;
  /** The checkpoint with the highest seq, if any. */
  latestCheckpoint(): Promise<AuditCheckpoint | undefined>;
  /**
   * Makes the store sign checkpoints (chained, and witnessed when configured) as it seals records;
   * undefined turns it off. AuditLedger calls this.
   */
  enableCheckpoints(config: StoreCheckpointConfig | undefined): Promise<void>;
  /**
   * Seals what waits and signs a checkpoint of the head if one is due at `at` (or, with `force`, if the
   * head has none). Returns the new checkpoint. Needs {@link enableCheckpoints}.
   */
  checkpointNow(opts: { at: Date; force: boolean }): Promise<AuditCheckpoint | undefined>;
  /** Releases connections and threads; the store is unusable afterwards. */
  close(): Promise<void>;
}

/** An idempotency key reused for a different record: a bug in the caller's key derivation. */
export class AuditKeyConflictError extends Error {
  override readonly name = 'AuditKeyConflictError';
  constructor(
    readonly idempotencyKey: string,
    readonly existing: AuditRecord,
  ) {
    super(
      `audit idempotency key "${idempotencyKey}" already names ${existing.seq ? `record ${existing.seq}` : 'a record waiting to be sealed'} (${existing.type} of ${existing.workflowId}); ` +
        'keys must be unique per record: derive them from the run id and the record index, never reuse one for another record',
    );
  }
}

/** Throws when an existing record for the key is clearly a different record (other run or type). */
export function assertSameRecord(existing: AuditRecord, input: { workflowId: string; type: string }): AuditRecord {
  if (existing.workflowId !== input.workflowId || existing.type !== input.type) {
    throw new AuditKeyConflictError(existing.idempotencyKey, existing);
  }
  return existing;
}

/** A record row as both stores keep it (snake_case columns). */
export interface RecordRow {
  seq: number | string | bigint;
  ts: string;
  idempotency_key: string;
  workflow_id: string;
  run_id: string | null;
  type: string;
  actor_kind: string;
  actor_id: string;
  data: string;
  trace_id: string | null;
  span_id: string | null;
  prev_hash: string;
  leaf_hash: string;
}

/** The column list both stores select, in {@link RecordRow} order. */
export const RECORD_COLUMNS =
  'seq, ts, idempotency_key, workflow_id, run_id, type, actor_kind, actor_id, data, trace_id, span_id, prev_hash, leaf_hash';

/** Seals a record: computes its leaf hash. */
export function seal(record: UnsealedRecord): AuditRecord {
  return { ...record, leafHash: leafHashOf(record) };
}

/** A record row as an array in {@link RECORD_COLUMNS} order → the same row as an object. */
export function rawToRow(r: RawRecordRow): RecordRow {
  return {
    seq: r[0] as RecordRow['seq'],
    ts: r[1] as string,
    idempotency_key: r[2] as string,
    workflow_id: r[3] as string,
    run_id: r[4] as string | null,
    type: r[5] as string,
    actor_kind: r[6] as string,
    actor_id: r[7] as string,
    data: r[8] as string,
    trace_id: r[9] as string | null,
    span_id: r[10] as string | null,
    prev_hash: r[11] as string,
    leaf_hash: r[12] as string,
  };
}

/** Row → record, without validation: a tampered row comes back as it is, for the verifier to judge. */
export function rowToRecord(row: RecordRow): AuditRecord {
  let data: unknown;
  try {
    data = JSON.parse(row.data);
  } catch {
    data = { '(unparseable data column)': row.data };
  }
  const seq = typeof row.seq === 'number' ? row.seq : Number(row.seq);
  return {
    seq,
    ts: row.ts,
    idempotencyKey: row.idempotency_key,
    workflowId: row.workflow_id,
    ...(row.run_id !== null ? { runId: row.run_id } : {}),
    type: row.type,
    actor: { kind: row.actor_kind as AuditRecord['actor']['kind'], id: row.actor_id },
    data: data as AuditRecord['data'],
    ...(row.trace_id !== null ? { traceId: row.trace_id } : {}),
    ...(row.span_id !== null ? { spanId: row.span_id } : {}),
    prevHash: row.prev_hash,
    leafHash: row.leaf_hash,
  };
}

/** Record → the values of {@link RECORD_COLUMNS}, in order. */
export function recordValues(r: AuditRecord): (string | number | null)[] {
  return [
    r.seq,
    r.ts,
    r.idempotencyKey,
    r.workflowId,
    r.runId ?? null,
    r.type,
    r.actor.kind,
    r.actor.id,
    // Canonical text, so verification can hash the stored column as it is (threads/row-hash.js).
    canonicalJson(r.data),
    r.traceId ?? null,
    r.spanId ?? null,
    r.prevHash,
    r.leafHash,
  ];
}

/** A checkpoint row as both stores keep it. */
export interface CheckpointRow {
  seq: number | string | bigint;
  leaf_hash: string;
  prev_checkpoint: string;
  ts: string;
  key_id: string;
  signature: string;
}

/** The checkpoint column list both stores select, in {@link CheckpointRow} order. */
export const CHECKPOINT_COLUMNS = 'seq, leaf_hash, prev_checkpoint, ts, key_id, signature';

/** Row → checkpoint, without validation. */
export function rowToCheckpoint(row: CheckpointRow): AuditCheckpoint {
  return {
    seq: typeof row.seq === 'number' ? row.seq : Number(row.seq),
    leafHash: row.leaf_hash,
    prevCheckpoint: row.prev_checkpoint,
    ts: row.ts,
    keyId: row.key_id,
    signature: row.signature,
  };
}

/** Checkpoint → the values of {@link CHECKPOINT_COLUMNS}, in order. */
export function checkpointValues(cp: AuditCheckpoint): (string | number)[] {
  return [cp.seq, cp.leafHash, cp.prevCheckpoint, cp.ts, cp.keyId, cp.signature];
}

/** Clamps a list limit. */
export function listLimit(limit: number | undefined): number {
  return Math.max(1, Math.min(limit ?? 1000, 100_000));
}

/**
 * A validated append as a row waiting for its seq, prevHash and leafHash (null): what a writer thread
 * or the PostgreSQL intake receives. `ts` defaults to `now`.
 */
export function pendingRow(input: ReturnType<typeof parseAppendInput>, now: () => Date): RawRecordRow {
  return [
    null,
    input.ts ?? now().toISOString(),
    input.idempotencyKey,
    input.workflowId,
    input.runId ?? null,
    input.type,
    input.actor.kind,
    input.actor.id,
    canonicalJson(input.data),
    input.traceId ?? null,
    input.spanId ?? null,
    null,
    null,
  ];
}
