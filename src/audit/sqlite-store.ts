import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
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
  /** Clock for record timestamps (tests). */
  now?: () => Date;
}

/**
 * The embedded audit store: one SQLite file (WAL mode) under the data dir, no server needed.
 *
 * Appends run in a `BEGIN IMMEDIATE` transaction, which holds SQLite's single write lock across every
 * process using the file, so workers on one host cannot fork the chain. Methods are async for the
 * shared {@link AuditStore} interface; the work itself is synchronous (better-sqlite3).
 */
export class SqliteAuditStore implements AuditStore {
  readonly kind = 'sqlite';
  private readonly appendTx: (input: ReturnType<typeof parseAppendInput>) => AuditRecord;

  private constructor(
    private readonly db: Database.Database,
    readonly location: string,
    private readonly now: () => Date,
  ) {
    const byKey = db.prepare<[string], RecordRow>(
      `SELECT ${RECORD_COLUMNS} FROM audit_records WHERE idempotency_key = ?`,
    );
    const head = db.prepare<[], { seq: number; leaf_hash: string }>(
      'SELECT seq, leaf_hash FROM audit_records ORDER BY seq DESC LIMIT 1',
    );
    const insert = db.prepare(
      `INSERT INTO audit_records (${RECORD_COLUMNS}) VALUES (${RECORD_COLUMNS.split(',')
        .map(() => '?')
        .join(', ')})`,
    );
    const tx = db.transaction((input: ReturnType<typeof parseAppendInput>): AuditRecord => {
      const existing = byKey.get(input.idempotencyKey);
      if (existing) return assertSameRecord(rowToRecord(existing), input);
      const h = head.get();
      const record = seal(unsealed(input, (h?.seq ?? 0) + 1, h?.leaf_hash ?? GENESIS_HASH, this.now));
      insert.run(...recordValues(record));
      return record;
    });
    this.appendTx = (input) => tx.immediate(input);
  }

  /**
   * Opens (and by default creates) a ledger file.
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
      db.pragma(`synchronous = ${opts.synchronous ?? 'FULL'}`);
      if (create) db.exec(SCHEMA);
    } catch (err) {
      db.close();
      throw err;
    }
    return new SqliteAuditStore(db, file, opts.now ?? (() => new Date()));
  }

  append(input: AppendInput): Promise<AuditRecord> {
    return settle(() => this.appendTx(parseAppendInput(input)));
  }

  list(query: AuditQuery = {}): Promise<AuditRecord[]> {
    return settle(() => this.listSync(query));
  }

  private listSync(query: AuditQuery): AuditRecord[] {
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
  }

  head(): Promise<AuditRecord | undefined> {
    return settle(() => {
      const row = this.db
        .prepare<[], RecordRow>(`SELECT ${RECORD_COLUMNS} FROM audit_records ORDER BY seq DESC LIMIT 1`)
        .get();
      return row ? rowToRecord(row) : undefined;
    });
  }

  scan(batchSize = 5000): AsyncIterable<AuditRecord[]> {
    const batches = this.batches(batchSize);
    return {
      [Symbol.asyncIterator]: () => ({
        next: () => settle(() => batches.next()),
        return: () => settle(() => batches.return(undefined)),
      }),
    };
  }

  private *batches(batchSize: number): Generator<AuditRecord[], undefined> {
    // A separate read-only connection: one read transaction (a consistent WAL snapshot) for the whole
    // scan, while appends go on through this one.
    const reader = new Database(this.location, { readonly: true, fileMustExist: true });
    try {
      reader.exec('BEGIN');
      let batch: AuditRecord[] = [];
      for (const row of reader
        .prepare<[], RecordRow>(`SELECT ${RECORD_COLUMNS} FROM audit_records ORDER BY seq`)
        .iterate()) {
        batch.push(rowToRecord(row));
        if (batch.length >= batchSize) {
          yield batch;
          batch = [];
        }
      }
      if (batch.length) yield batch;
      return undefined;
    } finally {
      reader.close();
    }
  }

  addCheckpoint(cp: AuditCheckpoint): Promise<void> {
    return settle(() => {
      this.db
        .prepare(
          `INSERT INTO audit_checkpoints (${CHECKPOINT_COLUMNS}) VALUES (?, ?, ?, ?, ?) ON CONFLICT (seq) DO NOTHING`,
        )
        .run(cp.seq, cp.leafHash, cp.ts, cp.keyId, cp.signature);
    });
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

  close(): Promise<void> {
    if (this.db.open) this.db.close();
    return Promise.resolve();
  }
}

/** Runs synchronous database work as a settled promise (a throw becomes a rejection). */
function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}
