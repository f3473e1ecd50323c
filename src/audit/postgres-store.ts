import type { PoolClient } from 'pg';
import { Pool } from 'pg';
import type { AuditCheckpoint } from './checkpoints';
import { INTAKE_COLUMNS, createPostgresSchema } from './postgres-schema';
import { PostgresSealer } from './postgres-sealer';
import type { AppendInput, AuditRecord } from './record';
import { parseAppendInput } from './record';
import type {
  AppendReceipt,
  AuditQuery,
  AuditStore,
  Backlog,
  CheckpointRow,
  LedgerSnapshot,
  RecordRow,
  StoreCheckpointConfig,
} from './store';
import {
  AuditKeyConflictError,
  CHECKPOINT_COLUMNS,
  RECORD_COLUMNS,
  assertSameRecord,
  checkpointValues,
  listLimit,
  pendingRow,
  rawToRow,
  rowToCheckpoint,
  rowToRecord,
} from './store';
import type { RawRecordRow } from './threads/row-hash';

/** Options for {@link PostgresAuditStore.open}. */
export interface PostgresAuditStoreOptions {
  /** `postgres://user:password@host:port/database` (a secret: never printed). */
  connectionString: string;
  /** Create the tables when missing (needs CREATE privilege). @default true */
  create?: boolean;
  /** Connections in the pool for appends and reads; the sealer has one more of its own. @default 4 */
  poolSize?: number;
  /** Clock for record timestamps and checkpoint decisions (tests). */
  now?: () => Date;
  /**
   * How long accepted appends gather before this process seals them (ms). Batching concurrent writers
   * into one sealing transaction is what lets the ledger keep up; `append` (which waits for its seal)
   * and `close` do not wait for it. @default 25
   */
  sealDelayMs?: number;
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

const INTAKE_TYPES = INTAKE_COLUMNS.split(', ').map(() => 'text');

/**
 * The PostgreSQL audit store, for a worker fleet sharing one ledger.
 *
 * Writers never wait for each other: an append inserts into `audit_intake` (its unique idempotency
 * key makes it exactly-once, and it is durable once the insert commits), and a sealer (one at a time
 * fleet-wide, under an advisory lock; see PostgresSealer) assigns seq/prevHash/leafHash in batches and
 * signs checkpoints. `appendMany` returns once records are accepted; `append` also waits for the seal.
 * Verification covers sealed records and reports the backlog.
 */
export class PostgresAuditStore implements AuditStore {
  readonly kind = 'postgres';
  /** The sealer of this process (exposed for tests and benchmarks). */
  readonly sealer: PostgresSealer;
  private warn: (message: string) => void = () => undefined;

  private constructor(
    private readonly pool: Pool,
    /** The sealer's own connection, so appends never queue behind a sealing transaction for one. */
    private readonly sealerPool: Pool,
    readonly location: string,
    private readonly now: () => Date,
    sealDelayMs: number,
  ) {
    this.sealer = new PostgresSealer(sealerPool, now, sealDelayMs, (err) =>
      this.warn(`audit sealing failed: ${err.message}`),
    );
  }

  /**
   * Connects and (by default) creates the schema.
   * @throws Error from pg when the server is unreachable or refuses the credentials (the message never
   *   includes the password), or when `create` is false and the tables do not exist.
   */
  static async open(opts: PostgresAuditStoreOptions): Promise<PostgresAuditStore> {
    const pool = new Pool({
      connectionString: opts.connectionString,
      max: opts.poolSize ?? 4,
      // Generous: under load, appends queue for a pooled connection, which this timeout also bounds.
      connectionTimeoutMillis: 60_000,
    });
    // An idle client's error (server restart) must not crash the process; the next query reconnects.
    pool.on('error', () => undefined);
    const location = redactConnectionString(opts.connectionString);
    try {
      if (opts.create ?? true) {
        await withTransaction(pool, createPostgresSchema);
      } else {
        const r = await pool.query<{ t: string | null }>("SELECT to_regclass('audit_intake')::text AS t");
        if (!r.rows[0]?.t) {
          throw new Error(
            `no audit ledger in ${location} (table audit_intake does not exist; a ledger from an older Warden is upgraded when a worker starts)`,
          );
        }
      }
    } catch (err) {
      await pool.end();
      throw err;
    }
    const sealerPool = new Pool({ connectionString: opts.connectionString, max: 1, connectionTimeoutMillis: 60_000 });
    sealerPool.on('error', () => undefined);
    return new PostgresAuditStore(pool, sealerPool, location, opts.now ?? (() => new Date()), opts.sealDelayMs ?? 25);
  }

  async append(input: AppendInput): Promise<AuditRecord> {
    const [receipt] = await this.appendMany([input]);
    if (receipt!.record) return receipt!.record;
    for (;;) {
      await this.sealer.drain();
      const r = await this.pool.query<RecordRow>(
        `SELECT ${RECORD_COLUMNS} FROM audit_records WHERE idempotency_key = $1`,
        [receipt!.idempotencyKey],
      );
      if (r.rows[0]) return rowToRecord(r.rows[0]);
    }
  }

  async appendMany(inputs: readonly AppendInput[]): Promise<AppendReceipt[]> {
    const parsed = inputs.map((i) => parseAppendInput(i));
    if (!parsed.length) return [];
    const first = new Map<string, ReturnType<typeof parseAppendInput>>();
    for (const p of parsed) {
      const f = first.get(p.idempotencyKey);
      if (f && (f.workflowId !== p.workflowId || f.type !== p.type)) {
        throw new AuditKeyConflictError(p.idempotencyKey, {
          ...rowToRecord(rawToRow(pendingRow(f, this.now))),
          seq: 0,
        });
      }
      first.set(p.idempotencyKey, p);
    }
    const rows = parsed.map((p) => pendingRow(p, this.now).slice(1, 11));
    const receipts: AppendReceipt[] = parsed.map((p) => ({ idempotencyKey: p.idempotencyKey, record: undefined }));
    const accepted = new Set(await insertIntake(this.pool, rows));
    // Keys not inserted now were known before (sealed, or waiting): check they name the same record.
    const known = parsed.filter((p) => !accepted.has(p.idempotencyKey));
    if (known.length) await this.resolveKnown(this.pool, known, receipts, parsed);
    this.sealer.schedule();
    return receipts;
  }

  /** Fills receipts for keys that were known already, sealed or waiting; refuses a reused key. */
  private async resolveKnown(
    db: Pool,
    known: readonly ReturnType<typeof parseAppendInput>[],
    receipts: AppendReceipt[],
    parsed: readonly ReturnType<typeof parseAppendInput>[],
  ): Promise<void> {
    // One statement, one snapshot: the sealer moves a key atomically, so it is in one table or the other.
    const r = await db.query<RecordRow & { sealed: boolean }>(
      `SELECT true AS sealed, ${RECORD_COLUMNS} FROM audit_records WHERE idempotency_key = ANY($1::text[])
       UNION ALL
       SELECT false, NULL, ts, idempotency_key, workflow_id, run_id, type, actor_kind, actor_id, data, trace_id, span_id, NULL, NULL
         FROM audit_intake WHERE idempotency_key = ANY($1::text[])`,
      [known.map((k) => k.idempotencyKey)],
    );
    const byKey = new Map(r.rows.map((row) => [row.idempotency_key, row]));
    parsed.forEach((p, i) => {
      const row = byKey.get(p.idempotencyKey);
      if (!row) return; // inserted just now
      const record = rowToRecord(row);
      if (!row.sealed) {
        if (record.workflowId !== p.workflowId || record.type !== p.type) {
          throw new AuditKeyConflictError(p.idempotencyKey, { ...record, seq: 0 });
        }
        return;
      }
      receipts[i] = { idempotencyKey: p.idempotencyKey, record: assertSameRecord(record, p) };
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
    const snap = await this.snapshot();
    try {
      for await (const rows of snap.rows(batchSize)) yield rows.map((r) => rowToRecord(rawToRow(r)));
    } finally {
      await snap.close();
    }
  }

  async snapshot(): Promise<LedgerSnapshot> {
    // A server-side cursor in one REPEATABLE READ transaction: one snapshot for checkpoints, backlog and
    // rows, constant memory, and every stored row (even ones that break the schema's intent).
    const c = await this.pool.connect();
    let released = false;
    const close = async () => {
      if (released) return;
      released = true;
      await c.query('ROLLBACK').catch(() => undefined);
      c.release();
    };
    try {
      await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const cps = await c.query<CheckpointRow>(`SELECT ${CHECKPOINT_COLUMNS} FROM audit_checkpoints ORDER BY seq`);
      const max = await c.query<{ m: string }>('SELECT coalesce(max(seq), 0)::text AS m FROM audit_records');
      const backlog = await c.query<{ n: string; oldest: string | null }>(
        'SELECT count(*)::text AS n, min(ts) AS oldest FROM audit_intake',
      );
      return {
        checkpoints: cps.rows.map(rowToCheckpoint),
        maxSeq: Number(max.rows[0]?.m ?? 0),
        backlog: toBacklog(backlog.rows[0]),
        rows: async function* (batchSize = 5000, afterSeq = 0) {
          await c.query({
            text: `DECLARE audit_scan NO SCROLL CURSOR FOR SELECT ${RECORD_COLUMNS} FROM audit_records WHERE seq > $1 ORDER BY seq`,
            values: [afterSeq],
          });
          for (;;) {
            const r = await c.query<unknown[]>({
              text: `FETCH ${Math.max(1, Math.floor(batchSize))} FROM audit_scan`,
              rowMode: 'array',
            });
            if (!r.rows.length) return;
            yield r.rows;
          }
        },
        close,
      };
    } catch (err) {
      await close();
      throw err;
    }
  }

  async backlog(): Promise<Backlog> {
    const r = await this.pool.query<{ n: string; oldest: string | null }>(
      'SELECT count(*)::text AS n, min(ts) AS oldest FROM audit_intake',
    );
    return toBacklog(r.rows[0]);
  }

  async addCheckpoint(cp: AuditCheckpoint): Promise<void> {
    await this.pool.query(
      `INSERT INTO audit_checkpoints (${CHECKPOINT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
      checkpointValues(cp),
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

  enableCheckpoints(config: StoreCheckpointConfig | undefined): Promise<void> {
    this.sealer.config = config;
    this.warn = config?.onWarning ?? (() => undefined);
    return Promise.resolve();
  }

  async checkpointNow(opts: { at: Date; force: boolean }): Promise<AuditCheckpoint | undefined> {
    await this.sealer.drain();
    for (;;) {
      const r = await this.sealer.sealOnce(opts);
      if (r.locked) return r.checkpoint;
      if (!opts.force) return undefined; // another process is sealing: it checks the policy too
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async close(): Promise<void> {
    this.sealer.cancelScheduled();
    await this.sealer.drain().catch(() => undefined);
    if (!this.pool.ended) await this.pool.end();
    if (!this.sealerPool.ended) await this.sealerPool.end();
  }
}

/**
 * Inserts rows into the intake unless their key is known; returns the keys inserted. One statement
 * (durable when it returns); ids follow the batch order (ORDER BY ord: the sealer seals by id). A batch in which a known key names another record inserts nothing; only a
 * second caller racing with the same key for yet another record could slip between, a double bug.
 */
async function insertIntake(db: Pool, rows: RawRecordRow[]): Promise<string[]> {
  const notSealed = 'NOT EXISTS (SELECT 1 FROM audit_records r WHERE r.idempotency_key = v.idempotency_key)';
  if (rows.length === 1) {
    const r = await db.query<{ k: string }>({
      // Named: prepared once per connection, as any hot statement should be.
      name: 'warden-audit-intake-1',
      text: `INSERT INTO audit_intake (${INTAKE_COLUMNS})
             SELECT * FROM (VALUES (${INTAKE_TYPES.map((t, i) => `$${i + 1}::${t}`).join(', ')})) AS v(${INTAKE_COLUMNS})
             WHERE ${notSealed}
             ON CONFLICT (idempotency_key) DO NOTHING RETURNING idempotency_key AS k`,
      values: rows[0],
    });
    return r.rows.map((x) => x.k);
  }
  const r = await db.query<{ k: string }>({
    name: 'warden-audit-intake-n',
    text: `WITH v AS (SELECT * FROM unnest(${INTAKE_TYPES.map((t, i) => `$${i + 1}::${t}[]`).join(', ')}) WITH ORDINALITY AS v(${INTAKE_COLUMNS}, ord)),
           reused AS (
             SELECT 1 FROM v JOIN audit_records r USING (idempotency_key) WHERE r.workflow_id <> v.workflow_id OR r.type <> v.type
             UNION ALL
             SELECT 1 FROM v JOIN audit_intake i USING (idempotency_key) WHERE i.workflow_id <> v.workflow_id OR i.type <> v.type)
           INSERT INTO audit_intake (${INTAKE_COLUMNS})
           SELECT ${INTAKE_COLUMNS} FROM v WHERE NOT EXISTS (SELECT 1 FROM reused) AND ${notSealed}
           ORDER BY ord
           ON CONFLICT (idempotency_key) DO NOTHING RETURNING idempotency_key AS k`,
    values: INTAKE_TYPES.map((_, i) => rows.map((row) => row[i])),
  });
  return r.rows.map((x) => x.k);
}

function toBacklog(row: { n: string; oldest: string | null } | undefined): Backlog {
  const count = Number(row?.n ?? 0);
  return count && row?.oldest ? { count, oldestTs: row.oldest } : { count };
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
