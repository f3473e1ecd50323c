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
  private timer: NodeJS.Timeout | undefined;
  private signRetryAt = 0;
  private signFailures = 0;

  constructor(
    private readonly pool: Pool,
    private readonly now: () => Date,
    /** How long `schedule` lets appends gather before a sealing round (see {@link schedule}). */
    private readonly delayMs = 0,
    private readonly onError: (err: Error) => void = () => undefined,
  ) {}

  /**
   * Seals soon, without waiting: after `delayMs`, so that the appends of many concurrent writers are
   * sealed in one transaction instead of one round (about five round trips, a delete and an insert
   * each) per append. Records are durable in the intake meanwhile; `drain` seals at once.
   */
  schedule(): void {
    if (this.delayMs <= 0) {
      void this.drain().catch((err: unknown) => this.onError(err as Error));
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.drain().catch((err: unknown) => this.onError(err as Error));
    }, this.delayMs);
    // A pending round must not keep a process alive: what it would seal is durable, and any sealer seals it.
    this.timer.unref();
  }

  /** Cancels a scheduled round (close drains instead). */
  cancelScheduled(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

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
      // One round trip: the simple protocol runs both statements (SEAL_LOCK is a constant, not input).
      const begun = (await c.query(`BEGIN; SELECT pg_try_advisory_xact_lock(${SEAL_LOCK}) AS ok`)) as unknown as {
        rows: { ok?: boolean }[];
      }[];
      if (!begun[1]?.rows[0]?.ok) {
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
    // The batch in arrival order, each row flagged when its key is sealed already (a retry that raced the
    // sealer into the intake), and the chain's head: two round trips.
    const intake = await c.query<unknown[]>({
      text: `SELECT i.id, ${INTAKE_COLUMNS.split(', ')
        .map((col) => `i.${col}`)
        .join(', ')},
                    EXISTS (SELECT 1 FROM audit_records r WHERE r.idempotency_key = i.idempotency_key)
               FROM (SELECT * FROM audit_intake ORDER BY id LIMIT ${BATCH}) i ORDER BY i.id`,
      rowMode: 'array',
    });
    // BIGINT arrives as text; never alias it as text in the ORDER BY, which would sort '99' after '100'.
    const h = await c.query<{ seq: string; leaf_hash: string }>(
      'SELECT seq, leaf_hash FROM audit_records ORDER BY seq DESC LIMIT 1',
    );
    let head = h.rows[0] ? { seq: Number(h.rows[0].seq), leafHash: h.rows[0].leaf_hash } : undefined;
    if (!intake.rows.length) return { sealed: 0, taken: 0, head, firstTs: undefined };
    const rows: RawRecordRow[] = [];
    const sealedIds: unknown[] = [];
    const seen = new Set<string>();
    const last = INTAKE_COLUMNS.split(', ').length + 1;
    for (const r of intake.rows) {
      const key = r[2] as string;
      if (r[last] === true || seen.has(key)) continue;
      seen.add(key);
      const row: RawRecordRow = [(head?.seq ?? 0) + 1, ...r.slice(1, last), head?.leafHash ?? GENESIS_HASH, null];
      row[12] = rowLeafHash(row);
      head = { seq: row[0] as number, leafHash: row[12] as string };
      rows.push(row);
      sealedIds.push(r[0]);
    }
    // Moved in one statement, and only what the sealer adds travels back (the payload is copied inside
    // the server): the intake rows taken leave as the sealed ones arrive.
    const ids = intake.rows.map((r) => r[0]);
    await c.query(
      `WITH taken AS (DELETE FROM audit_intake WHERE id = ANY($1::bigint[]))
       INSERT INTO audit_records (seq, ${INTAKE_COLUMNS}, prev_hash, leaf_hash)
       SELECT s.seq, ${INTAKE_COLUMNS.split(', ')
         .map((col) => `i.${col}`)
         .join(', ')}, s.prev_hash, s.leaf_hash
         FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::text[]) AS s(id, seq, prev_hash, leaf_hash)
         JOIN audit_intake i ON i.id = s.id`,
      [ids, sealedIds, rows.map((row) => row[0]), rows.map((row) => row[11]), rows.map((row) => row[12])],
    );
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
