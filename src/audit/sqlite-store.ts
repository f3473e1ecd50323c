import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { AuditCheckpoint } from './checkpoints';
import type { AppendInput, AuditRecord } from './record';
import { parseAppendInput } from './record';
import type { WriterStats } from './sqlite-writer';
import { SqliteWriter } from './sqlite-writer';
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
  CHECKPOINT_COLUMNS,
  RECORD_COLUMNS,
  assertSameRecord,
  listLimit,
  pendingRow,
  rawToRow,
  rowToCheckpoint,
  rowToRecord,
} from './store';
import type { RawRecordRow } from './threads/row-hash';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS audit_records (
  seq INTEGER PRIMARY KEY,
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
);
CREATE INDEX IF NOT EXISTS audit_records_workflow ON audit_records (workflow_id, seq);
CREATE TABLE IF NOT EXISTS audit_checkpoints (
  seq INTEGER PRIMARY KEY,
  leaf_hash TEXT NOT NULL,
  prev_checkpoint TEXT NOT NULL UNIQUE,
  ts TEXT NOT NULL,
  key_id TEXT NOT NULL,
  signature TEXT NOT NULL
);`;

/** Options for {@link SqliteAuditStore.open}. */
export interface SqliteAuditStoreOptions {
  /** The database file; created (mode 0600, with its directory) when `create` is true. */
  file: string;
  /** Create the file and schema when missing. @default true */
  create?: boolean;
  /**
   * SQLite `synchronous` level. FULL makes every acknowledged append survive power loss; NORMAL
   * survives a process crash only. @default 'FULL'
   */
  synchronous?: 'FULL' | 'NORMAL';
  /** How long an append waits for another process's write lock before failing (retryable). @default 10000 */
  busyTimeoutMs?: number;
  /** Clock for record timestamps and checkpoint decisions (tests). */
  now?: () => Date;
}

/**
 * Creates the schema; a ledger from before chained checkpoints keeps its records (their format is
 * unchanged) and has its old checkpoints moved aside to `audit_checkpoints_v1` (kept, not trusted).
 */
function createSchema(db: Database.Database): void {
  const cols = db.prepare<[], { name: string }>("SELECT name FROM pragma_table_info('audit_checkpoints')").all();
  if (cols.length && !cols.some((c) => c.name === 'prev_checkpoint')) {
    db.exec('ALTER TABLE audit_checkpoints RENAME TO audit_checkpoints_v1');
  }
  db.exec(SCHEMA);
}

/**
 * The embedded audit store: one SQLite file (WAL mode) under the data dir, no server needed.
 *
 * Writes go to one writer thread per store (group commit: concurrent appends share one durable
 * transaction and the event loop never blocks on fsync); its `BEGIN IMMEDIATE` transactions hold
 * SQLite's single write lock across every process using the file, so workers on one host cannot fork
 * the chain. Reads run on this thread (WAL readers never wait for the writer).
 */
export class SqliteAuditStore implements AuditStore {
  readonly kind = 'sqlite';
  private readonly writer: SqliteWriter;
  private warn: (message: string) => void = () => undefined;

  private constructor(
    private readonly db: Database.Database,
    readonly location: string,
    opts: SqliteAuditStoreOptions,
    private readonly now: () => Date,
  ) {
    this.writer = new SqliteWriter({
      file: location,
      busyTimeoutMs: opts.busyTimeoutMs ?? 10_000,
      synchronous: opts.synchronous ?? 'FULL',
      checkpoints: undefined,
      onWarning: (m) => this.warn(m),
    });
  }

  /**
   * Opens (and by default creates) a ledger file. The writer thread starts on the first write, so
   * readers never start one.
   * @throws Error when `create` is false and the file does not exist, or the file is not a SQLite database.
   */
  static open(opts: SqliteAuditStoreOptions): SqliteAuditStore {
    const file = path.resolve(opts.file);
    const create = opts.create ?? true;
    if (create && !fs.existsSync(file)) {
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      fs.closeSync(fs.openSync(file, 'a', 0o600));
    }
    const db = new Database(file, { fileMustExist: !create });
    try {
      db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 10_000}`);
      db.pragma('journal_mode = WAL');
      if (create) createSchema(db);
      else {
        const cols = db.prepare("SELECT name FROM pragma_table_info('audit_checkpoints')").pluck().all();
        if (!cols.length) throw new Error(`${file} is not an audit ledger (it has no audit_checkpoints table)`);
        if (!cols.includes('prev_checkpoint')) {
          throw new Error(
            'this ledger was written by an older Warden (unchained checkpoints): start a worker on it once to upgrade it',
          );
        }
      }
    } catch (err) {
      db.close();
      throw err;
    }
    return new SqliteAuditStore(db, file, opts, opts.now ?? (() => new Date()));
  }

  async append(input: AppendInput): Promise<AuditRecord> {
    const [receipt] = await this.appendMany([input]);
    return receipt!.record!;
  }

  async appendMany(inputs: readonly AppendInput[]): Promise<AppendReceipt[]> {
    const parsed = inputs.map((i) => parseAppendInput(i));
    if (!parsed.length) return [];
    const rows = await this.writer.append(
      parsed.map((p) => pendingRow(p, this.now)),
      this.now().getTime(),
    );
    return rows.map((row, i) => {
      const record = assertSameRecord(rowToRecord(rawToRow(row)), parsed[i]!);
      return { idempotencyKey: record.idempotencyKey, record };
    });
  }

  list(query: AuditQuery = {}): Promise<AuditRecord[]> {
    return settle(() => {
      const where: string[] = [];
      const params: (string | number)[] = [];
      if (query.workflowId !== undefined) {
        where.push('workflow_id = ?');
        params.push(query.workflowId);
      }
      if (query.fromSeq !== undefined) {
        where.push('seq >= ?');
        params.push(query.fromSeq);
      }
      const sql = `SELECT ${RECORD_COLUMNS} FROM audit_records ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq LIMIT ?`;
      return this.db
        .prepare<(string | number)[], RecordRow>(sql)
        .all(...params, listLimit(query.limit))
        .map(rowToRecord);
    });
  }

  head(): Promise<AuditRecord | undefined> {
    return settle(() => {
      const row = this.db
        .prepare<[], RecordRow>(`SELECT ${RECORD_COLUMNS} FROM audit_records ORDER BY seq DESC LIMIT 1`)
        .get();
      return row ? rowToRecord(row) : undefined;
    });
  }

  async *scan(batchSize = 5000): AsyncIterable<AuditRecord[]> {
    const snap = await this.snapshot();
    try {
      for await (const rows of snap.rows(batchSize)) yield rows.map((r) => rowToRecord(rawToRow(r)));
    } finally {
      await snap.close();
    }
  }

  snapshot(): Promise<LedgerSnapshot> {
    return settle(() => {
      // A separate read-only connection: one read transaction (a consistent WAL snapshot) for
      // checkpoints and rows alike, while appends go on through the writer.
      const reader = new Database(this.location, { readonly: true, fileMustExist: true });
      try {
        reader.exec('BEGIN');
        const checkpoints = reader
          .prepare<[], CheckpointRow>(`SELECT ${CHECKPOINT_COLUMNS} FROM audit_checkpoints ORDER BY seq`)
          .all()
          .map(rowToCheckpoint);
        const maxSeq = Number(reader.prepare('SELECT coalesce(max(seq), 0) FROM audit_records').pluck().get());
        return {
          checkpoints,
          maxSeq,
          backlog: { count: 0 },
          rows: (batchSize = 4096, afterSeq = 0) => rowBatches(reader, batchSize, afterSeq),
          rangeReader: { sqliteFile: this.location },
          close: () => {
            if (reader.open) reader.close();
            return Promise.resolve();
          },
        };
      } catch (err) {
        reader.close();
        throw err;
      }
    });
  }

  backlog(): Promise<Backlog> {
    return Promise.resolve({ count: 0 });
  }

  addCheckpoint(cp: AuditCheckpoint): Promise<void> {
    return this.writer.addCheckpoint(cp);
  }

  checkpoints(): Promise<AuditCheckpoint[]> {
    return settle(() =>
      this.db
        .prepare<[], CheckpointRow>(`SELECT ${CHECKPOINT_COLUMNS} FROM audit_checkpoints ORDER BY seq`)
        .all()
        .map(rowToCheckpoint),
    );
  }

  latestCheckpoint(): Promise<AuditCheckpoint | undefined> {
    return settle(() => {
      const row = this.db
        .prepare<[], CheckpointRow>(`SELECT ${CHECKPOINT_COLUMNS} FROM audit_checkpoints ORDER BY seq DESC LIMIT 1`)
        .get();
      return row ? rowToCheckpoint(row) : undefined;
    });
  }

  async enableCheckpoints(config: StoreCheckpointConfig | undefined): Promise<void> {
    this.warn = config?.onWarning ?? (() => undefined);
    await this.writer.configure(
      config && {
        spec: config.signer.threadSpec(),
        every: config.every,
        intervalMs: config.intervalMs,
        witnessDir: config.witnessDir,
      },
    );
  }

  checkpointNow(opts: { at: Date; force: boolean }): Promise<AuditCheckpoint | undefined> {
    return this.writer.checkpoint(opts.at.getTime(), opts.force);
  }

  /** Group-commit counters of this process's writer thread (for metrics and tests). */
  writerStats(): Promise<WriterStats> {
    return this.writer.stats();
  }

  async close(): Promise<void> {
    await this.writer.close();
    if (this.db.open) this.db.close();
  }
}

/** Row batches from an open read transaction; the iteration is synchronous work in async clothing. */
// eslint-disable-next-line @typescript-eslint/require-await -- better-sqlite3 reads synchronously; the consumer awaits between batches
async function* rowBatches(
  reader: Database.Database,
  batchSize: number,
  afterSeq: number,
): AsyncIterable<RawRecordRow[]> {
  const stmt = reader.prepare(`SELECT ${RECORD_COLUMNS} FROM audit_records WHERE seq > ? ORDER BY seq`).raw(true);
  let batch: RawRecordRow[] = [];
  for (const row of stmt.iterate(afterSeq) as IterableIterator<RawRecordRow>) {
    batch.push(row);
    if (batch.length >= batchSize) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}

/** Runs synchronous database work as a settled promise (a throw becomes a rejection). */
function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}
