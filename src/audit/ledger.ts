import type { WardenConfig } from '../config';
import type { AuditCheckpoint, CheckpointSigner } from './checkpoints';
import { openAuditStore } from './open';
import type { AppendInput, AuditRecord } from './record';
import { openCheckpointSigner } from './signing-key';
import type { AppendReceipt, AuditStore } from './store';
import type { PublicKeys, VerifyResult } from './verify';
import type { VerifyStoreOptions } from './verify-store';
import { verifyStore } from './verify-store';

/** Where the ledger reports non-fatal trouble (a pino logger fits). */
export interface AuditLedgerLogger {
  warn(obj: object, msg: string): void;
}

/** Options for {@link AuditLedger}. */
export interface AuditLedgerOptions {
  store: AuditStore;
  signer: CheckpointSigner;
  /** A checkpoint is signed in the transaction that brings this many records after the latest one. @default 100 */
  checkpointEvery?: number;
  /**
   * A checkpoint is also signed once a record has waited about half this long for one (checked as
   * records are sealed and by a background timer every quarter of it, unref'd so it never keeps a
   * process alive), so records wait at most ~¾ of it while any worker runs and `warden audit verify`,
   * which allows the full interval, never trips on a live ledger. 0: by count only.
   * @default 60000
   */
  checkpointIntervalMs?: number;
  /** Append every checkpoint to this directory too, outside the database (see docs/audit-ledger.md). */
  witnessDir?: string | undefined;
  logger?: AuditLedgerLogger;
  /** Clock (tests). */
  now?: () => Date;
}

/**
 * The audit ledger as the rest of Warden uses it: a store, a checkpoint signer, a witness, and the
 * policy of when to sign. Build one per worker process and share it between activities; close it on
 * shutdown (that signs a last checkpoint, so nothing is left unanchored).
 *
 * Appends are exactly-once per idempotency key (see {@link AppendInput}): a retried activity gets the
 * original record back. A failed checkpoint never fails an append; it is retried with backoff.
 */
export class AuditLedger {
  readonly store: AuditStore;
  readonly signer: CheckpointSigner;
  private readonly now: () => Date;
  private readonly logger: AuditLedgerLogger | undefined;
  private readonly ready: Promise<void>;
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(opts: AuditLedgerOptions) {
    this.store = opts.store;
    this.signer = opts.signer;
    this.now = opts.now ?? (() => new Date());
    this.logger = opts.logger;
    const intervalMs = Math.max(0, opts.checkpointIntervalMs ?? 60_000);
    this.ready = this.store.enableCheckpoints({
      signer: opts.signer,
      every: Math.max(1, opts.checkpointEvery ?? 100),
      intervalMs: Math.floor(intervalMs / 2),
      witnessDir: opts.witnessDir,
      onWarning: (m) => this.logger?.warn({}, m),
    });
    this.ready.catch(() => undefined); // surfaced by the first call that awaits it
    if (intervalMs > 0) {
      this.timer = setInterval(() => void this.tick(), Math.max(250, Math.floor(intervalMs / 4)));
      this.timer.unref();
    }
  }

  /**
   * Opens the configured store (PostgreSQL when WARDEN_AUDIT_DATABASE_URL is set, else SQLite in the
   * data dir), the configured signer (a signer command, a key file, or a key generated in the keys dir
   * outside the data dir), the witness dir, and the checkpoint policy.
   * @throws ConfigError / UserError saying what to fix when the key, the signer or the database is unusable.
   */
  static async open(config: Pick<WardenConfig, 'dataDir' | 'audit'>, logger?: AuditLedgerLogger): Promise<AuditLedger> {
    const signer = openCheckpointSigner({
      dataDir: config.dataDir,
      keysDir: config.audit.keysDir,
      keyFile: config.audit.signingKeyFile,
      command: config.audit.signerCommand,
      commandPublicKeyFile: config.audit.signerPublicKeyFile,
      onWarning: (m) => logger?.warn({}, m),
    });
    const store = await openAuditStore(config);
    return new AuditLedger({
      store,
      signer,
      checkpointEvery: config.audit.checkpointEvery,
      checkpointIntervalMs: config.audit.checkpointIntervalMs,
      witnessDir: config.audit.witnessDir,
      ...(logger ? { logger } : {}),
    });
  }

  /**
   * Appends a record exactly once and returns it sealed (on PostgreSQL this waits for the sealer:
   * prefer {@link appendMany} on hot paths).
   * @throws what {@link AuditStore.append} throws; never a checkpoint failure.
   */
  async append(input: AppendInput): Promise<AuditRecord> {
    await this.ready;
    return this.store.append(input);
  }

  /**
   * Appends records in order, exactly once each, and resolves when all are durable: sealed on SQLite
   * (group commit), accepted into the intake on PostgreSQL (sealed moments later by whichever worker
   * holds the seal lock). One invalid input rejects the call and appends nothing.
   * @throws what {@link AuditStore.appendMany} throws.
   */
  async appendMany(inputs: readonly AppendInput[]): Promise<AppendReceipt[]> {
    await this.ready;
    return this.store.appendMany(inputs);
  }

  /** Seals what waits and signs a checkpoint of the head now, unless it has one. Returns it, if signed. */
  async checkpoint(): Promise<AuditCheckpoint | undefined> {
    await this.ready;
    return this.store.checkpointNow({ at: this.now(), force: true });
  }

  /**
   * Verifies the stored ledger (sealed records; the backlog is reported). Trusts `publicKeys`, by
   * default this ledger's own signing key; freshness is only checked when `opts.freshness` is given.
   */
  verify(publicKeys: PublicKeys = [this.signer.publicKey], opts: VerifyStoreOptions = {}): Promise<VerifyResult> {
    return verifyStore(this.store, publicKeys, opts);
  }

  /** Stops the timer, signs a last checkpoint of whatever is unanchored (best effort), closes the store. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    try {
      await this.ready;
      await this.store.checkpointNow({ at: this.now(), force: true });
    } catch (err) {
      this.logger?.warn({ err }, 'audit: no final checkpoint on close; the next worker signs one');
    }
    await this.store.close();
  }

  private async tick(): Promise<void> {
    try {
      await this.ready;
      // Other workers tick too: the store signs only when one is due, under its write or seal lock.
      await this.store.checkpointNow({ at: this.now(), force: false });
    } catch (err) {
      this.logger?.warn({ err }, 'audit checkpoint tick failed; retrying at the next tick');
    }
  }
}
