import type { AuditCheckpoint } from './checkpoints';
import { leafHashOf } from './hash';
import type { AppendInput, AuditRecord, UnsealedRecord } from './record';

/** Filters for {@link AuditStore.list}. */
export interface AuditQuery {
  /** Only this run's records. */
  workflowId?: string;
  /** Only records with `seq >= fromSeq`. */
  fromSeq?: number;
  /** At most this many records (oldest first). @default 1000 */
  limit?: number;
}

/**
 * Where ledger records and checkpoints live. Two implementations pass one shared test suite:
 * `SqliteAuditStore` (embedded default) and `PostgresAuditStore` (worker fleets).
 *
 * Appends are exactly-once and never fork the chain: inserting a record if its idempotency key is new
 * and advancing the chain head happen in one transaction, serialised across every process sharing the
 * store. The store never rewrites or deletes a record.
 */
export interface AuditStore {
  /** Which implementation this is. */
  readonly kind: 'sqlite' | 'postgres';
  /** Where the ledger lives, safe to print (file path, or PostgreSQL host/database without credentials). */
  readonly location: string;
  /**
   * Appends a record, or returns the existing one unchanged when `idempotencyKey` was appended before
   * (a retried activity): never a duplicate, never a gap.
   *
   * @throws ZodError / RangeError when the input is invalid (the caller's fault; do not retry);
   *   AuditKeyConflictError when the key already names a record of another run or type (a caller bug);
   *   database errors are transient and safe to retry with the same key.
   */
  append(input: AppendInput): Promise<AuditRecord>;
  /** Records in seq order, filtered; rows are returned as stored (verification is `verifyLedger`'s job). */
  list(query?: AuditQuery): Promise<AuditRecord[]>;
  /** The record with the highest seq, or undefined for an empty ledger. */
  head(): Promise<AuditRecord | undefined>;
  /**
   * Every record in seq order, in batches, from one consistent snapshot, exactly as stored (including
   * rows that no longer parse): the input of verification and export.
   */
  scan(batchSize?: number): AsyncIterable<AuditRecord[]>;
  /** Stores a signed checkpoint; a second checkpoint for the same seq is ignored (idempotent). */
  addCheckpoint(checkpoint: AuditCheckpoint): Promise<void>;
  /** Every checkpoint, in seq order. */
  checkpoints(): Promise<AuditCheckpoint[]>;
  /** The checkpoint with the highest seq, if any. */
  latestCheckpoint(): Promise<AuditCheckpoint | undefined>;
  /** Releases connections; the store is unusable afterwards. */
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
      `audit idempotency key "${idempotencyKey}" already names record ${existing.seq} (${existing.type} of ${existing.workflowId}); ` +
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
    JSON.stringify(r.data),
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
  ts: string;
  key_id: string;
  signature: string;
}

/** The checkpoint column list both stores select, in {@link CheckpointRow} order. */
export const CHECKPOINT_COLUMNS = 'seq, leaf_hash, ts, key_id, signature';

/** Row → checkpoint, without validation. */
export function rowToCheckpoint(row: CheckpointRow): AuditCheckpoint {
  return {
    seq: typeof row.seq === 'number' ? row.seq : Number(row.seq),
    leafHash: row.leaf_hash,
    ts: row.ts,
    keyId: row.key_id,
    signature: row.signature,
  };
}

/** Clamps a list limit. */
export function listLimit(limit: number | undefined): number {
  return Math.max(1, Math.min(limit ?? 1000, 100_000));
}
