import { z } from 'zod';

/** The `prevHash` of the first record (seq 1): 64 zeros, i.e. "nothing before me". */
export const GENESIS_HASH = '0'.repeat(64);

/** A lowercase hex sha256 digest (64 characters), the form of `prevHash` and `leafHash`. */
export const HexDigest = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters (sha256)');

/**
 * Record types Warden itself writes. The type field stays an open string so new kinds of evidence need
 * no schema change; exporters and `warden audit show` treat unknown types generically.
 */
export const KNOWN_AUDIT_TYPES = [
  'run.started',
  'run.completed',
  'run.failed',
  'policy.decision',
  'approval.requested',
  'approval.granted',
  'approval.refused',
  'approval.escalated',
  'approval.timed_out',
  'agent.turn',
  'tool.executed',
  'tool.failed',
  'interrupt',
  'kill_switch.changed',
  'lease.issued',
  'lease.refused',
  'tool.refused',
  'audit.refused',
  'control.refused',
] as const;
/** One of {@link KNOWN_AUDIT_TYPES}. */
export type KnownAuditType = (typeof KNOWN_AUDIT_TYPES)[number];

/**
 * The type of a record: dotted lowercase words, e.g. `approval.granted`.
 * See {@link KNOWN_AUDIT_TYPES} for the ones Warden writes.
 */
export const AuditRecordType = z
  .string()
  .regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/, 'must be dotted lowercase words, e.g. approval.granted')
  .max(100);
/** A record type. */
export type AuditRecordType = z.infer<typeof AuditRecordType>;

/** Who acted: Warden itself (`system`), an agent identity (`agent`, never a human's id) or a person (`human`). */
export const AuditActor = z.strictObject({
  kind: z.enum(['system', 'agent', 'human']),
  id: z.string().min(1).max(256),
});
/** Who acted. */
export type AuditActor = z.infer<typeof AuditActor>;

/**
 * The evidence of a record: a JSON object (digests, reasons, policy version, model, token usage, ...).
 * Never a secret, and never a large payload: store those elsewhere and record a digest and a reference.
 */
export const AuditData = z.record(z.string(), z.json());
/** The evidence of a record. */
export type AuditData = z.infer<typeof AuditData>;

const ids = {
  /** Workflow id of the run the record belongs to (system-wide records use a fixed id such as `warden`). */
  workflowId: z.string().min(1).max(512),
  /** Temporal run id, when the record belongs to one run of the workflow. */
  runId: z.string().min(1).max(256).optional(),
  type: AuditRecordType,
  actor: AuditActor,
  /** W3C trace id (32 hex) of the span that produced the record, when tracing is on. */
  traceId: z
    .string()
    .regex(/^[0-9a-f]{32}$/, 'must be a W3C trace id (32 lowercase hex)')
    .optional(),
  /** W3C span id (16 hex). */
  spanId: z
    .string()
    .regex(/^[0-9a-f]{16}$/, 'must be a W3C span id (16 lowercase hex)')
    .optional(),
};

/** Maximum length of an idempotency key. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 512;

/** Maximum size of a record's `data` as JSON (64 KiB): records carry digests and references, not payloads. */
export const MAX_DATA_BYTES = 64 * 1024;

/**
 * What a caller appends. The store assigns `seq`, `prevHash` and `leafHash`, and `ts` when omitted.
 *
 * `idempotencyKey` makes the append exactly-once: derive it in the workflow from the run id and the
 * record's index in that run (e.g. `<runId>/audit/7`), never from an attempt number, so a retried or
 * re-run activity appends nothing new and gets the original record back.
 */
export const AppendInput = z.strictObject({
  idempotencyKey: z.string().min(1).max(MAX_IDEMPOTENCY_KEY_LENGTH),
  ...ids,
  data: AuditData.default({}),
  /** When it happened (ISO 8601, UTC); default: the time of the append. */
  ts: z.iso.datetime({ offset: false }).optional(),
});
/** What a caller appends (before defaults). */
export type AppendInput = z.input<typeof AppendInput>;

/**
 * One ledger record, exactly as stored and hashed.
 *
 * `leafHash` = sha256 over the RFC 8785 canonical JSON of every other field (so `seq` and `prevHash`
 * are covered); `prevHash` = the previous record's `leafHash` ({@link GENESIS_HASH} for seq 1).
 * Optional fields are absent, never null.
 */
export const AuditRecord = z.strictObject({
  seq: z.number().int().min(1),
  ts: z.iso.datetime({ offset: false }),
  idempotencyKey: z.string().min(1).max(MAX_IDEMPOTENCY_KEY_LENGTH),
  ...ids,
  data: z.record(z.string(), z.unknown()),
  prevHash: HexDigest,
  leafHash: HexDigest,
});
/** One ledger record. */
export type AuditRecord = z.infer<typeof AuditRecord>;

/** A record before its leaf hash is computed. */
export type UnsealedRecord = Omit<AuditRecord, 'leafHash'>;

/**
 * Validates an append and normalises its data to plain JSON (what the store keeps is exactly what is
 * hashed: `undefined` members vanish, dates become strings).
 *
 * @throws ZodError naming the bad field, or RangeError when `data` exceeds {@link MAX_DATA_BYTES} (the
 *   caller's input is at fault).
 */
export function parseAppendInput(input: AppendInput): z.output<typeof AppendInput> {
  const json = JSON.stringify(input.data ?? {});
  if (Buffer.byteLength(json) > MAX_DATA_BYTES) {
    throw new RangeError(
      `audit record data is ${Buffer.byteLength(json)} bytes (limit ${MAX_DATA_BYTES}): store large payloads elsewhere and record their digest and a reference`,
    );
  }
  return AppendInput.parse({ ...input, data: JSON.parse(json) as unknown });
}

/** Builds the stored form of a record (optional fields omitted when absent) from an append. */
export function unsealed(
  input: z.output<typeof AppendInput>,
  seq: number,
  prevHash: string,
  now: () => Date,
): UnsealedRecord {
  return {
    seq,
    ts: input.ts ?? now().toISOString(),
    idempotencyKey: input.idempotencyKey,
    workflowId: input.workflowId,
    ...(input.runId !== undefined ? { runId: input.runId } : {}),
    type: input.type,
    actor: { kind: input.actor.kind, id: input.actor.id },
    data: input.data,
    ...(input.traceId !== undefined ? { traceId: input.traceId } : {}),
    ...(input.spanId !== undefined ? { spanId: input.spanId } : {}),
    prevHash,
  };
}
