import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { AuditCheckpoint, SignerSpec } from './checkpoints';
import { AuditKeyConflictError, rawToRow, rowToRecord } from './store';
import type { RawRecordRow } from './threads/row-hash';

/** When and how the writer thread signs checkpoints (see AuditLedgerOptions). */
export interface ThreadCheckpointConfig {
  spec: SignerSpec;
  every: number;
  intervalMs: number;
  witnessDir: string | undefined;
}

/** Options for {@link SqliteWriter}. */
export interface SqliteWriterOptions {
  file: string;
  busyTimeoutMs: number;
  synchronous: 'FULL' | 'NORMAL';
  checkpoints: ThreadCheckpointConfig | undefined;
  /** Non-fatal trouble from the thread (a checkpoint that could not be signed or witnessed). */
  onWarning: (message: string) => void;
}

type Reply = {
  id: number;
  rows?: RawRecordRow[];
  checkpoint?: AuditCheckpoint;
  error?: string;
  code?: string;
  conflict?: RawRecordRow;
  stats?: WriterStats;
};

/** What the writer thread did since it started: group commit shows as fewer transactions than appends. */
export interface WriterStats {
  /** Append transactions committed. */
  transactions: number;
  /** Records they carried (new or already known). */
  records: number;
}
interface Pending {
  resolve: (r: Reply) => void;
  reject: (e: Error) => void;
}

/** A database error from the writer thread (transient unless the schema was altered): safe to retry. */
export class AuditWriteError extends Error {
  override readonly name = 'AuditWriteError';
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

/**
 * The main-thread handle of the SQLite ledger's writer thread (threads/sqlite-writer.js). Requests are
 * messages; the thread commits every request that arrived while it was busy in one transaction, so many
 * concurrent appends cost one fsync, and this event loop never waits on the disk.
 *
 * The thread is unref'd while idle (it never keeps a process alive) and restarted by the next request
 * if it dies.
 */
export class SqliteWriter {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private checkpoints: ThreadCheckpointConfig | undefined;

  constructor(private readonly opts: SqliteWriterOptions) {
    this.checkpoints = opts.checkpoints;
  }

  /**
   * Appends rows (seq, prev and leaf hash left null) in one transaction: returns each stored row, the
   * existing one for a known key. @throws AuditKeyConflictError, writing nothing, when a known key
   * names another run's or type's record.
   */
  async append(rows: RawRecordRow[], at: number): Promise<RawRecordRow[]> {
    const r = await this.request({ op: 'append', rows, at });
    if (r.conflict) {
      const existing = rowToRecord(rawToRow(r.conflict));
      throw new AuditKeyConflictError(existing.idempotencyKey, existing);
    }
    return r.rows ?? [];
  }

  /** Signs a checkpoint of the head when due (or when `force` and the head has none). */
  async checkpoint(at: number, force: boolean): Promise<AuditCheckpoint | undefined> {
    return (await this.request({ op: 'checkpoint', at, force })).checkpoint ?? undefined;
  }

  /** Stores a checkpoint as given (the raw store operation; no witness). */
  async addCheckpoint(checkpoint: AuditCheckpoint): Promise<void> {
    await this.request({ op: 'addCheckpoint', checkpoint });
  }

  /** Counters of the running thread (zeros when it has not started). */
  async stats(): Promise<WriterStats> {
    if (!this.worker) return { transactions: 0, records: 0 };
    return (await this.request({ op: 'stats' })).stats ?? { transactions: 0, records: 0 };
  }

  /** Changes the checkpoint policy of the thread (and of any thread started later). */
  async configure(checkpoints: ThreadCheckpointConfig | undefined): Promise<void> {
    this.checkpoints = checkpoints;
    if (this.worker) await this.request({ op: 'configure', checkpoints });
  }

  /** Lets queued requests finish, then stops the thread. */
  async close(): Promise<void> {
    const w = this.worker;
    if (!w) return;
    this.worker = undefined;
    const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
    w.ref();
    w.postMessage({ op: 'close' });
    await exited;
  }

  private start(): Worker {
    const w = new Worker(path.join(__dirname, 'threads', 'sqlite-writer.js'), {
      workerData: {
        file: this.opts.file,
        busyTimeoutMs: this.opts.busyTimeoutMs,
        synchronous: this.opts.synchronous,
        sqlitePath: require.resolve('better-sqlite3'),
        checkpoints: this.checkpoints,
      },
    });
    w.unref();
    w.on('message', (m: Reply | { op: 'warn'; message: string }) => {
      if ('op' in m) return this.opts.onWarning(m.message);
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) w.unref();
      if (m.error !== undefined) p.reject(new AuditWriteError(`audit ledger write failed: ${m.error}`, m.code));
      else p.resolve(m);
    });
    const fail = (err: Error) => {
      if (this.worker === w) this.worker = undefined;
      for (const [id, p] of this.pending) {
        this.pending.delete(id);
        p.reject(new AuditWriteError(`audit writer thread stopped: ${err.message}`, undefined));
      }
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`exit ${code}`)));
    return w;
  }

  private request(msg: Record<string, unknown>): Promise<Reply> {
    const w = (this.worker ??= this.start());
    const id = this.nextId++;
    return new Promise<Reply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.ref();
      w.postMessage({ ...msg, id });
    });
  }
}
