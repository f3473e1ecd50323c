import type { Pool, PoolClient } from 'pg';
import type { AuditCheckpoint } from './checkpoints';
import { nextPrevCheckpoint, signCheckpoint } from './checkpoints';
import { INTAKE_COLUMNS, SEAL_LOCK } from './postgres-schema';
import { GENESIS_HASH } from './record';
import type { CheckpointRow, StoreCheckpointConfig } from './store';
import { CHECKPOINT_COLUMNS, checkpointValues, rowToCheckpoint } from './store';
import type { RawRecordRow } from './threads/row-hash';
import { rowLeafHash } from './threads/row-hash';
import { appendToWitness } from './witness';

const BATCH = 4096;
const RECORD_TYPES = ['bigint', ...Array<string>(12).fill('text')];

/** What one sealing round did. */
export interface SealResult {
  /** False when another process holds the seal lock (it seals instead). */
  locked: boolean;
  sealed: number;
  /** True when a full batch was taken: there may be more. */
  more: boolean;
  checkpoint?: AuditCheckpoint;
}

/**
 * Seals the PostgreSQL ledger: takes accepted records from `audit_intake` in arrival order, assigns
 * seq, prevHash and leafHash, moves them into `audit_records` and, when one is due, signs a chained
 * checkpoint in the same transaction. One sealer at a time fleet-wide (a transaction-scoped advisory
 * lock, released by commit, rollback or a dropped connection); any process can be it.
 *
 * A record whose key is already sealed (a retry that raced the sealer into the intake) is dropped, so
 * each key is sealed once.
 */
export class PostgresSealer {
  config: StoreCheckpointConfig | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private signRetryAt = 0;
  private signFailures = 0;

  constructor(
    private readonly pool: Pool,
    private readonly now: () => Date,
  ) {}

  /**
   * Seals until the intake is empty, waiting for another process's sealer when it holds the lock.
   * Concurrent calls share one run (a call during a run makes it go round once more).
   */
  drain(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.sealAll();
        } while (this.again);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  private async sealAll(): Promise<void> {
    for (let wait = 5; ;) {
      const r = await this.sealOnce({ at: this.now(), force: false });
      if (r.locked) {
        if (!r.more) return;
        continue;
      }
      // Another sealer is at work: it will take our records unless it just finished; look again soon.
      if (!(await this.hasBacklog())) return;
      await new Promise((resolve) => setTimeout(resolve, wait));
      wait = Math.min(wait * 2, 100);
    }
  }

  private async hasBacklog(): Promise<boolean> {
    const r = await this.pool.query<{ b: boolean }>('SELECT EXISTS (SELECT 1 FROM audit_intake) AS b');
    return r.rows[0]?.b ?? false;
  }

  /** One sealing transaction: up to one batch, then a checkpoint if due (or forced). */
  async sealOnce(opts: { at: Date; force: boolean }): Promise<SealResult> {
    const c = await this.pool.connect();
    let checkpoint: AuditCheckpoint | undefined;
    let result: SealResult;
    try {
      await c.query('BEGIN');
      const lock = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS ok', [SEAL_LOCK]);
      if (!lock.rows[0]?.ok) {
        await c.query('ROLLBACK');
        return { locked: false, sealed: 0, more: false };
      }
      const { sealed, taken, head, firstTs } = await this.sealBatch(c);
      checkpoint = await this.maybeCheckpoint(c, head, firstTs, opts);
      await c.query('COMMIT');
      result = { locked: true, sealed, more: taken >= BATCH, ...(checkpoint ? { checkpoint } : {}) };
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
    if (checkpoint && this.config?.witnessDir) {
      try {
        appendToWitness(this.config.witnessDir, [checkpoint]);
      } catch (err) {
        this.config.onWarning(
          `audit checkpoint ${checkpoint.seq} is in the ledger but could not be written to the witness ${this.config.witnessDir}: ${(err as Error).message}`,
        );
      }
    }
    return result;
  }

  private async sealBatch(c: PoolClient) {
    const intake = await c.query<unknown[]>({
      text: `SELECT id, ${INTAKE_COLUMNS} FROM audit_intake ORDER BY id LIMIT ${BATCH}`,
      rowMode: 'array',
    });
    // BIGINT arrives as text; never alias it as text in the ORDER BY, which would sort '99' after '100'.
    const h = await c.query<{ seq: string; leaf_hash: string }>(
      'SELECT seq, leaf_hash FROM audit_records ORDER BY seq DESC LIMIT 1',
    );
    let head = h.rows[0] ? { seq: Number(h.rows[0].seq), leafHash: h.rows[0].leaf_hash } : undefined;
    if (!intake.rows.length) return { sealed: 0, taken: 0, head, firstTs: undefined };
    const keys = intake.rows.map((r) => r[2] as string);
    const dup = await c.query<{ k: string }>(
      'SELECT idempotency_key AS k FROM audit_records WHERE idempotency_key = ANY($1::text[])',
      [keys],
    );
    const sealedKeys = new Set(dup.rows.map((r) => r.k));
    const rows: RawRecordRow[] = [];
    const seen = new Set<string>();
    for (const r of intake.rows) {
      const key = r[2] as string;
      if (sealedKeys.has(key) || seen.has(key)) continue;
      seen.add(key);
      const row: RawRecordRow = [(head?.seq ?? 0) + 1, ...r.slice(1), head?.leafHash ?? GENESIS_HASH, null];
      row[12] = rowLeafHash(row);
      head = { seq: row[0] as number, leafHash: row[12] as string };
      rows.push(row);
    }
    if (rows.length) {
      const columns = RECORD_TYPES.map((_, i) => rows.map((row) => row[i]));
      await c.query(
        `INSERT INTO audit_records (seq, ts, idempotency_key, workflow_id, run_id, type, actor_kind, actor_id, data, trace_id, span_id, prev_hash, leaf_hash)
         SELECT * FROM unnest(${RECORD_TYPES.map((t, i) => `$${i + 1}::${t}[]`).join(', ')})`,
        columns,
      );
    }
    await c.query('DELETE FROM audit_intake WHERE id = ANY($1::bigint[])', [intake.rows.map((r) => r[0])]);
    return { sealed: rows.length, taken: intake.rows.length, head, firstTs: rows[0]?.[1] as string | undefined };
  }

  private async maybeCheckpoint(
    c: PoolClient,
    head: { seq: number; leafHash: string } | undefined,
    firstSealedTs: string | undefined,
    opts: { at: Date; force: boolean },
  ): Promise<AuditCheckpoint | undefined> {
    const cfg = this.config;
    if (!cfg || !head) return undefined;
    const at = opts.at.getTime();
    if (!opts.force && at < this.signRetryAt) return undefined;
    const r = await c.query<CheckpointRow>(
      `SELECT ${CHECKPOINT_COLUMNS} FROM audit_checkpoints ORDER BY seq DESC LIMIT 1`,
    );
    const latest = r.rows[0] ? rowToCheckpoint(r.rows[0]) : undefined;
    const cpSeq = latest?.seq ?? 0;
    if (head.seq <= cpSeq) return undefined;
    // The first records are anchored at once: a ledger without any checkpoint is then always an anomaly.
    if (!opts.force && cpSeq > 0 && head.seq - cpSeq < cfg.every) {
      if (cfg.intervalMs <= 0) return undefined;
      const oldest = await c.query<{ ts: string }>('SELECT ts FROM audit_records WHERE seq = $1', [cpSeq + 1]);
      const t = Date.parse(oldest.rows[0]?.ts ?? firstSealedTs ?? '');
      if (Number.isFinite(t) && at - t < cfg.intervalMs) return undefined;
    }
    try {
      const cp = await signCheckpoint(cfg.signer, head, nextPrevCheckpoint(latest), opts.at.toISOString());
      // A savepoint: should the insert fail, the batch of records still commits.
      await c.query('SAVEPOINT checkpoint');
      try {
        await c.query(
          `INSERT INTO audit_checkpoints (${CHECKPOINT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)`,
          checkpointValues(cp),
        );
      } catch (err) {
        await c.query('ROLLBACK TO SAVEPOINT checkpoint');
        throw err;
      }
      this.signFailures = 0;
      this.signRetryAt = 0;
      return cp;
    } catch (err) {
      if (opts.force) throw err;
      // The records commit regardless; back off so a broken signer does not hold the seal lock per batch.
      this.signFailures++;
      this.signRetryAt = at + Math.min(60_000, 500 * 2 ** Math.min(this.signFailures, 7));
      cfg.onWarning(`audit checkpoint not signed (retrying in ${this.signRetryAt - at} ms): ${(err as Error).message}`);
      return undefined;
    }
  }
}
