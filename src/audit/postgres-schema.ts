import type { PoolClient } from 'pg';

/** The advisory lock that serialises schema creation across a starting fleet ("WARD"). */
export const MIGRATION_LOCK = 0x5741_5244;
/** The advisory lock the one active sealer holds while it seals a batch ("SEAL"). */
export const SEAL_LOCK = 0x5345_414c;

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS audit_records (
    seq BIGINT PRIMARY KEY,
    ts TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    workflow_id TEXT NOT NULL,
    run_id TEXT,
    type TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    data TEXT NOT NULL,
    trace_id TEXT,
    span_id TEXT,
    prev_hash TEXT NOT NULL,
    leaf_hash TEXT NOT NULL
  )`,
  'CREATE INDEX IF NOT EXISTS audit_records_workflow ON audit_records (workflow_id, seq)',
  `CREATE TABLE IF NOT EXISTS audit_checkpoints (
    seq BIGINT PRIMARY KEY,
    leaf_hash TEXT NOT NULL,
    prev_checkpoint TEXT NOT NULL UNIQUE,
    ts TEXT NOT NULL,
    key_id TEXT NOT NULL,
    signature TEXT NOT NULL
  )`,
  // Accepted records waiting for the sealer. Writers insert here concurrently (no shared row to lock);
  // the unique key makes an append exactly-once while it waits, audit_records' unique key afterwards.
  `CREATE TABLE IF NOT EXISTS audit_intake (
    id BIGSERIAL PRIMARY KEY,
    ts TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    workflow_id TEXT NOT NULL,
    run_id TEXT,
    type TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    data TEXT NOT NULL,
    trace_id TEXT,
    span_id TEXT
  )`,
];

/** Intake columns after `id`, in pendingRow order (seq, prev_hash and leaf_hash are the sealer's). */
export const INTAKE_COLUMNS =
  'ts, idempotency_key, workflow_id, run_id, type, actor_kind, actor_id, data, trace_id, span_id';

/**
 * Creates the schema under an advisory lock (a fleet starting at once creates it once). A ledger from
 * before chained checkpoints keeps its records and has its old checkpoints moved aside to
 * `audit_checkpoints_v1` (kept, not trusted); its `audit_head` table is no longer used.
 */
export async function createPostgresSchema(c: PoolClient): Promise<void> {
  await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
  const old = await c.query(
    `SELECT 1 FROM information_schema.tables t WHERE t.table_schema = current_schema() AND t.table_name = 'audit_checkpoints'
       AND NOT EXISTS (SELECT 1 FROM information_schema.columns c WHERE c.table_schema = t.table_schema
                         AND c.table_name = 'audit_checkpoints' AND c.column_name = 'prev_checkpoint')`,
  );
  if (old.rowCount) await c.query('ALTER TABLE audit_checkpoints RENAME TO audit_checkpoints_v1');
  for (const statement of SCHEMA) await c.query(statement);
}
