import type { WardenConfig } from '../config';
import type { AuditCheckpoint, CheckpointSigner } from './checkpoints';
import { openAuditStore } from './open';
import type { AppendInput, AuditRecord } from './record';
import { loadOrCreateSigningKey } from './signing-key';
import type { AuditStore } from './store';
import type { PublicKeys, VerifyResult } from './verify';
import { verifyStore } from './verify';

/** Where the ledger reports non-fatal trouble (a pino logger fits). */
export interface AuditLedgerLogger {
  warn(obj: object, msg: string): void;
}

/** Options for {@link AuditLedger}. */
export interface AuditLedgerOptions {
  store: AuditStore;
  signer: CheckpointSigner;
  /** Sign a checkpoint once this many records follow the latest one. @default 100 */
  checkpointEvery?: number;
  /**
   * Sign a checkpoint when the latest one is older than this and records followed it, checked on each
   * append and by a background timer (unref'd, so it never keeps a process alive). 0 disables both.
   * @default 60000
   */
  checkpointIntervalMs?: number;
  logger?: AuditLedgerLogger;
  /** Clock (tests). */
  now?: () => Date;
}

/**
 * The audit ledger as the rest of Warden uses it: a store, a checkpoint signer and the policy of when
 * to sign. Build one per worker process and share it between activities.
 *
 * `append` is exactly-once per idempotency key (see {@link AppendInput}): a retried activity gets the
 * original record back. A failed checkpoint never fails an append; it is retried on the next append
 * or tick.
 */
export class AuditLedger {
  readonly store: AuditStore;
  readonly signer: CheckpointSigner;
  private readonly every: number;
  private readonly intervalMs: number;
  private readonly now: () => Date;
  private readonly logger: AuditLedgerLogger | undefined;
  private last: { seq: number; at: number } | undefined;
  private signing: Promise<AuditCheckpoint | undefined> | undefined;
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(opts: AuditLedgerOptions) {
    this.store = opts.store;
    this.signer = opts.signer;
    this.every = Math.max(1, opts.checkpointEvery ?? 100);
    this.intervalMs = Math.max(0, opts.checkpointIntervalMs ?? 60_000);
    this.now = opts.now ?? (() => new Date());
    this.logger = opts.logger;
    if (this.intervalMs > 0) {
      this.timer = setInterval(() => void this.tick(), this.intervalMs);
      this.timer.unref();
    }
  }

  /**
   * Opens the configured store (PostgreSQL when WARDEN_AUDIT_DATABASE_URL is set, else SQLite in the
   * data dir) and signing key (generated on first use), with the configured checkpoint policy.
   * @throws ConfigError / UserError saying what to fix when the key or the database is unusable.
   */
  static async open(config: Pick<WardenConfig, 'dataDir' | 'audit'>, logger?: AuditLedgerLogger): Promise<AuditLedger> {
    const signer = loadOrCreateSigningKey({
      dataDir: config.dataDir,
      keyFile: config.audit.signingKeyFile,
      onWarning: (m) => logger?.warn({}, m),
    });
    const store = await openAuditStore(config);
    return new AuditLedger({
      store,
      signer,
      checkpointEvery: config.audit.checkpointEvery,
      checkpointIntervalMs: config.audit.checkpointIntervalMs,
      ...(logger ? { logger } : {}),
    });
  }

  /**
   * Appends a record exactly once (see {@link AuditStore.append}) and signs a checkpoint when one is due.
   * @throws what {@link AuditStore.append} throws; never a checkpoint failure.
   */
  async append(input: AppendInput): Promise<AuditRecord> {
    const record = await this.store.append(input);
    try {
      const last = await this.lastCheckpoint();
      if (record.seq - last.seq >= this.every || this.intervalElapsed(last, record.seq)) {
        await this.sign(record);
      }
    } catch (err) {
      this.logger?.warn({ err, seq: record.seq }, 'audit checkpoint failed; retrying on the next append');
    }
    return record;
  }

  /** Signs a checkpoint of the current head now, unless the head already has one. Returns it, if signed. */
  async checkpoint(): Promise<AuditCheckpoint | undefined> {
    const head = await this.store.head();
    if (!head) return undefined;
    const latest = await this.store.latestCheckpoint();
    if (latest && latest.seq >= head.seq) return undefined;
    return this.sign(head);
  }

  /** Verifies the whole stored ledger; trusts `publicKeys`, by default this ledger's own signing key. */
  verify(publicKeys: PublicKeys = [this.signer.publicKey]): Promise<VerifyResult> {
    return verifyStore(this.store, publicKeys);
  }

  /** Stops the checkpoint timer and closes the store. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.signing?.catch(() => undefined);
    await this.store.close();
  }

  private intervalElapsed(last: { seq: number; at: number }, seq: number): boolean {
    return this.intervalMs > 0 && seq > last.seq && this.now().getTime() - last.at >= this.intervalMs;
  }

  private async lastCheckpoint(): Promise<{ seq: number; at: number }> {
    if (!this.last) {
      const cp = await this.store.latestCheckpoint();
      this.last = cp ? { seq: cp.seq, at: Date.parse(cp.ts) } : { seq: 0, at: this.now().getTime() };
    }
    return this.last;
  }

  private async sign(head: AuditRecord): Promise<AuditCheckpoint | undefined> {
    if (this.signing) return this.signing; // one signature at a time per process is plenty
    this.signing = (async () => {
      const cp = this.signer.sign(head, this.now().toISOString());
      await this.store.addCheckpoint(cp);
      if (!this.last || cp.seq > this.last.seq) this.last = { seq: cp.seq, at: this.now().getTime() };
      return cp;
    })().finally(() => {
      this.signing = undefined;
    });
    return this.signing;
  }

  private async tick(): Promise<void> {
    try {
      // Other workers sign too: only sign when nobody has within the interval.
      const latest = await this.store.latestCheckpoint();
      if (latest) this.last = { seq: latest.seq, at: Date.parse(latest.ts) };
      const head = await this.store.head();
      if (head && this.intervalElapsed(await this.lastCheckpoint(), head.seq)) await this.sign(head);
    } catch (err) {
      this.logger?.warn({ err }, 'audit checkpoint tick failed; retrying at the next tick');
    }
  }
}
