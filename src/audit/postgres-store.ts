import type { PoolClient } from 'pg';
import { Pool } from 'pg';
import type { AuditCheckpoint } from './checkpoints';
import type { AppendInput, AuditRecord } from './record';
import { GENESIS_HASH, parseAppendInput, unsealed } from './record';
import type { AuditQuery, AuditStore, CheckpointRow, RecordRow } from './store';
import {
  CHECKPOINT_COLUMNS,
  RECORD_COLUMNS,
  assertSameRecord,
  listLimit,
  recordValues,
  rowToCheckpoint,
  rowToRecord,
  seal,
} from './store';

// One arbitrary constant: the advisory lock that serialises schema creation across a starting fleet.
const MIGRATION_LOCK = 0x5741_5244; // "WARD"

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
    ts TEXT NOT NULL,
    key_id TEXT NOT NULL,
    signature TEXT NOT NULL
  )`,
  // The chain head as one row: appenders lock it (SELECT ... FOR UPDATE), which serialises them.
  `CREATE TABLE IF NOT EXISTS audit_head (
    id SMALLINT PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    leaf_hash TEXT NOT NULL
  )`,
  `INSERT INTO audit_head (id, seq, leaf_hash) VALUES (1, 0, '${GENESIS_HASH}') ON CONFLICT (id) DO NOTHING`,
];

/** Options for {@link PostgresAuditStore.open}. */
export interface PostgresAuditStoreOptions {
  /** `postgres://user:password@host:port/database` (a secret: never printed). */
  connectionString: string;
  /** Create the tables when missing (needs CREATE privilege). @default true */
  create?: boolean;
  /** Connections in the pool. @default 4 */
  poolSize?: number;
  /** Clock for record timestamps (tests). */
  now?: () => Date;
}

/** `postgres://host:port/db` with credentials and parameters removed, safe to print. */
export function redactConnectionString(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname}`;
  } catch {
    return 'postgres://(unparseable URL)';
  }
}

/**
 * The PostgreSQL audit store, for a worker fleet sharing one ledger.
 *
 * An append locks the single `audit_head` row, inserts the record if its idempotency key is new and
 * advances the head, all in one transaction: concurrent workers queue on the row lock, so the chain
 * can neither fork nor skip a seq, and a retried append returns the original record.
 */
export class PostgresAuditStore implements AuditStore {
  readonly kind = 'postgres';

  private constructor(
    private readonly pool: Pool,
    readonly location: string,
    private readonly now: () => Date,
  ) {}

  /**
   * Connects and (by default) creates the schema.
   * @throws Error from pg when the server is unreachable or refuses the credentials (the message never
   *   includes the password), or when `create` is false and the tables do not exist.
   */
  static async open(opts: PostgresAuditStoreOptions): Promise<PostgresAuditStore> {
    const pool = new Pool({
      connectionString: opts.connectionString,
      max: opts.poolSize ?? 4,
      connectionTimeoutMillis: 10_000,
    });
    // An idle client's error (server restart) must not crash the process; the next query reconnects.
    pool.on('error', () => undefined);
    const location = redactConnectionString(opts.connectionString);
    try {
      if (opts.create ?? true) {
        await withTransaction(pool, async (c) => {
          await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
          for (const statement of SCHEMA) await c.query(statement);
        });
      } else {
        const r = await pool.query<{ t: string | null }>("SELECT to_regclass('audit_records')::text AS t");
        if (!r.rows[0]?.t) throw new Error(`no audit ledger in ${location} (table audit_records does not exist)`);
      }
    } catch (err) {
      await pool.end();
      throw err;
    }
    return new PostgresAuditStore(pool, location, opts.now ?? (() => new Date()));
  }

  async append(input: AppendInput): Promise<AuditRecord> {
    const parsed = parseAppendInput(input);
    return withTransaction(this.pool, async (c) => {
      // Lock the head and look the key up in one round trip, so the lock is held for two round trips.
      // The join reads the statement's snapshot, which can predate an append that committed while this
      // one waited for the lock: ON CONFLICT below catches that race.
      const cols = RECORD_COLUMNS.split(', ')
        .map((col) => `r.${col}`)
        .join(', ');
      const found = await c.query<{ head_seq: string; head_leaf: string } & RecordRow>(
        `SELECT h.seq::text AS head_seq, h.leaf_hash AS head_leaf, ${cols}
           FROM audit_head h LEFT JOIN audit_records r ON r.idempotency_key = $1
          WHERE h.id = 1 FOR UPDATE OF h`,
        [parsed.idempotencyKey],
      );
      const h = found.rows[0];
      if (!h) throw new Error('audit_head row is missing: the ledger schema was altered; restore it before appending');
      if (h.idempotency_key !== null) return assertSameRecord(rowToRecord(h), parsed);
      const record = seal(unsealed(parsed, Number(h.head_seq) + 1, h.head_leaf, this.now));
      const inserted = await c.query(
        `WITH ins AS (
           INSERT INTO audit_records (${RECORD_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
           ON CONFLICT (idempotency_key) DO NOTHING
           RETURNING seq, leaf_hash)
         UPDATE audit_head SET seq = ins.seq, leaf_hash = ins.leaf_hash FROM ins WHERE audit_head.id = 1`,
        recordValues(record),
      );
      if (inserted.rowCount === 0) {
        const existing = await c.query<RecordRow>(
          `SELECT ${RECORD_COLUMNS} FROM audit_records WHERE idempotency_key = $1`,
          [parsed.idempotencyKey],
        );
        if (!existing.rows[0]) throw new Error('audit append lost a race it cannot explain; retry it');
        return assertSameRecord(rowToRecord(existing.rows[0]), parsed);
      }
      return record;
    });
  }

  async list(query: AuditQuery = {}): Promise<AuditRecord[]> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (query.workflowId !== undefined) {
      params.push(query.workflowId);
      where.push(`workflow_id = $${params.length}`);
    }
    if (query.fromSeq !== undefined) {
      params.push(query.fromSeq);
      where.push(`seq >= $${params.length}`);
    }
    params.push(listLimit(query.limit));
    const r = await this.pool.query<RecordRow>(
      `SELECT ${RECORD_COLUMNS} FROM audit_records ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq LIMIT $${params.length}`,
      params,
    );
    return r.rows.map(rowToRecord);
  }

  async head(): Promise<AuditRecord | undefined> {
    const r = await this.pool.query<RecordRow>(`SELECT ${RECORD_COLUMNS} FROM audit_records ORDER BY seq DESC LIMIT 1`);
    return r.rows[0] ? rowToRecord(r.rows[0]) : undefined;
  }

  async *scan(batchSize = 5000): AsyncIterable<AuditRecord[]> {
    // A server-side cursor in one REPEATABLE READ transaction: a consistent snapshot, constant memory,
    // and every stored row (even ones that break the schema's intent) reaches the verifier.
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      await c.query(`DECLARE audit_scan NO SCROLL CURSOR FOR SELECT ${RECORD_COLUMNS} FROM audit_records ORDER BY seq`);
      for (;;) {
        const r = await c.query<RecordRow>(`FETCH ${Math.max(1, Math.floor(batchSize))} FROM audit_scan`);
        if (!r.rows.length) break;
        yield r.rows.map(rowToRecord);
      }
    } finally {
      // Read-only: ending it either way is the same. Also runs when the consumer stops early.
      await c.query('ROLLBACK').catch(() => undefined);
      c.release();
    }
  }

  async addCheckpoint(cp: AuditCheckpoint): Promise<void> {
    await this.pool.query(
      `INSERT INTO audit_checkpoints (${CHECKPOINT_COLUMNS}) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (seq) DO NOTHING`,
      [cp.seq, cp.leafHash, cp.ts, cp.keyId, cp.signature],
    );
  }

  async checkpoints(): Promise<AuditCheckpoint[]> {
    const r = await this.pool.query<CheckpointRow>(`SELECT ${CHECKPOINT_COLUMNS} FROM audit_checkpoints ORDER BY seq`);
    return r.rows.map(rowToCheckpoint);
  }

  async latestCheckpoint(): Promise<AuditCheckpoint | undefined> {
    const r = await this.pool.query<CheckpointRow>(
      `SELECT ${CHECKPOINT_COLUMNS} FROM audit_checkpoints ORDER BY seq DESC LIMIT 1`,
    );
    return r.rows[0] ? rowToCheckpoint(r.rows[0]) : undefined;
  }

  async close(): Promise<void> {
    if (!this.pool.ended) await this.pool.end();
  }
}

async function withTransaction<T>(pool: Pool, fn: (c: PoolClient) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    const result = await fn(c);
    await c.query('COMMIT');
    return result;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
}
