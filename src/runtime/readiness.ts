import type { Client } from '@temporalio/client';
import type { AuditLedger } from '../audit';
import type { FileVault } from '../credentials/vault';

/** One dependency a process needs to do its work; `check` rejects (with what to fix) when it cannot. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

/** The outcome of one check. */
export interface CheckOutcome {
  ok: boolean;
  /** What failed, when it did (never a secret: messages come from our own checks and clients). */
  error?: string;
  /** ISO time of the check. */
  at: string;
}

/** What `/readyz` answers. */
export interface ReadinessSnapshot {
  ready: boolean;
  checks: Record<string, CheckOutcome>;
}

/** Rejects after `ms` with `what timed out`, so a hung dependency reads as down, not as a hung probe. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
      timer.unref();
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Temporal answers and the namespace exists (DescribeNamespace, bounded by `timeoutMs`). */
export function temporalCheck(client: Client, namespace: string, timeoutMs = 3_000): ReadinessCheck {
  return {
    name: 'temporal',
    check: async () => {
      await withTimeout(
        client.connection.withDeadline(Date.now() + timeoutMs, () =>
          client.workflowService.describeNamespace({ namespace }),
        ),
        timeoutMs,
        'Temporal',
      );
    },
  };
}

/** The audit ledger's store answers (reads its head). */
export function ledgerCheck(ledger: AuditLedger, timeoutMs = 3_000): ReadinessCheck {
  return { name: 'ledger', check: async () => void (await withTimeout(ledger.store.head(), timeoutMs, 'the ledger')) };
}

/** The vault file reads and, when it holds a secret, the master key decrypts one (the value is dropped). */
export function vaultCheck(vault: FileVault): ReadinessCheck {
  return {
    name: 'vault',
    check: async () => {
      const [first] = await vault.list();
      if (first) await vault.get(first.name);
    },
  };
}

/**
 * Readiness for `/readyz`: synchronous gates (e.g. "the worker is polling") plus dependency checks run in
 * the background every `intervalMs` (a probe never waits on a slow dependency, and a flood of probes never
 * floods the dependencies). Not ready until every check has passed once.
 */
export class Readiness {
  private readonly outcomes = new Map<string, CheckOutcome>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly checks: ReadinessCheck[],
    /** Evaluated on every probe: true when open, else the reason it is not (e.g. `worker is DRAINING`). */
    private readonly gates: Record<string, () => true | string> = {},
    private readonly intervalMs = 5_000,
  ) {}

  /** Runs every check now (concurrently) and records the outcomes. */
  refresh(): Promise<void> {
    this.running ??= Promise.all(
      this.checks.map(async (c) => {
        const at = new Date().toISOString();
        try {
          await c.check();
          this.outcomes.set(c.name, { ok: true, at });
        } catch (err) {
          this.outcomes.set(c.name, { ok: false, error: (err as Error).message.split('\n')[0] ?? 'failed', at });
        }
      }),
    ).then(
      () => void (this.running = undefined),
      () => void (this.running = undefined),
    );
    return this.running;
  }

  /** The error of `name`'s last completed run when it failed; undefined when it passed or has not run yet. */
  failing(name: string): string | undefined {
    const o = this.outcomes.get(name);
    return o && !o.ok ? o.error : undefined;
  }

  /** Starts the background checks (the first run immediately). */
  start(): this {
    void this.refresh();
    this.timer ??= setInterval(() => void this.refresh(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The current state: gates evaluated now, checks as last run. */
  snapshot(): ReadinessSnapshot {
    const checks: Record<string, CheckOutcome> = {};
    const at = new Date().toISOString();
    for (const [name, gate] of Object.entries(this.gates)) {
      let result: true | string;
      try {
        result = gate();
      } catch (err) {
        result = (err as Error).message;
      }
      checks[name] = result === true ? { ok: true, at } : { ok: false, error: result, at };
    }
    for (const c of this.checks)
      checks[c.name] = this.outcomes.get(c.name) ?? { ok: false, error: 'not checked yet', at };
    return { ready: Object.values(checks).every((c) => c.ok), checks };
  }
}
