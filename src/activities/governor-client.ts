import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { SignalDefinition } from '@temporalio/common';
import type { FleetKey } from '../identity/fleet-key';
import { breakerReportFields } from './identity';
import type { GovernorState, KillSwitchSignal, ToolOutcomeSignal } from '../workflows/contract';
import { governorStateQuery, reportToolOutcomeSignal, setKillSwitchSignal } from '../workflows/contract';

/** The governor's state before anything was ever set. */
export const INITIAL_GOVERNOR_STATE: GovernorState = { killSwitch: { engaged: false }, breakers: {}, changes: [] };

const GOVERNOR_SUMMARY = 'Warden governor: fleet-wide kill switch and circuit breakers';

/**
 * Reads and updates the fleet-wide governor (kill switch, circuit breakers): one entity workflow that
 * every worker sees and that survives restarts, because it lives in Temporal. Reads are cached for
 * `cacheMs` per process to bound query load; a change reaches every worker within that time.
 */
export class GovernorClient {
  private cached?: { at: number; state: GovernorState };
  /** The query in flight, shared by every caller that needs a fresh state meanwhile. */
  private reading?: { at: number; promise: Promise<GovernorState> };
  /** Aborts reads in flight when the owner closes (a read may outlive the caller that started it). */
  private readonly closing = new AbortController();

  constructor(
    private readonly client: Client,
    readonly governorId: string,
    private readonly taskQueue: string,
    private readonly cacheMs = 1_000,
    /**
     * Workers: when there is no governor (never started, or its execution deleted), start one and read
     * as restoring until it has restored the switch from the audit ledger, rather than as "off".
     */
    private readonly startIfMissing = false,
  ) {}

  /**
   * Current state (cached). Without a governor: restoring while one starts (`startIfMissing`), else the
   * initial state.
   */
  async state(fresh = false): Promise<GovernorState> {
    if (!fresh && this.cached && Date.now() - this.cached.at < this.cacheMs) return this.cached.state;
    // Concurrent readers share one query (a burst of tool calls would otherwise send one each). A caller
    // that asked for fresh state never gets an answer to a query sent before it asked.
    const askedAt = Date.now();
    if (!this.reading || (fresh && this.reading.at < askedAt)) {
      const at = askedAt;
      const promise = this.read(at).finally(() => {
        if (this.reading?.promise === promise) this.reading = undefined;
      });
      this.reading = { at, promise };
    }
    return this.reading.promise;
  }

  /**
   * The state if it can be had within `waitMs`: the cached state while fresh, else a shared query given
   * that long; undefined otherwise. For callers that must not wait on Temporal for long (a local activity
   * holds its run's workflow task, and the governor's query needs a workflow task of its own).
   */
  async stateWithin(waitMs: number): Promise<GovernorState | undefined> {
    if (this.cached && Date.now() - this.cached.at < this.cacheMs) return this.cached.state;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), waitMs)));
    try {
      const state = await Promise.race([this.state().catch(() => undefined), late]);
      // "Restoring" is not an answer to act on here; the caller takes the path that waits for one.
      return state?.restoring ? undefined : state;
    } finally {
      clearTimeout(timer);
    }
  }

  private async read(at: number): Promise<GovernorState> {
    let state: GovernorState;
    try {
      // A signal of this read's own, aborted with `closing`: Temporal's client adds an abort listener to the
      // signal for every call and never removes it, so reads under `closing` itself (one a second, for the
      // worker's life) would pile up listeners, each holding its finished call.
      state = await this.client.withAbortSignal(AbortSignal.any([this.closing.signal]), () =>
        this.client.workflow.getHandle(this.governorId).query(governorStateQuery),
      );
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      if (!this.startIfMissing) return INITIAL_GOVERNOR_STATE;
      // A kill switch engaged before the governor's execution was deleted is in the ledger: the new governor
      // restores it, and writes wait for that instead of reading "off" from nothing.
      await this.client.workflow.start('governor', {
        workflowId: this.governorId,
        taskQueue: this.taskQueue,
        args: [{}],
        workflowIdConflictPolicy: 'USE_EXISTING',
        staticSummary: GOVERNOR_SUMMARY,
      });
      return { ...INITIAL_GOVERNOR_STATE, restoring: true };
    }
    // An older query answering late does not replace a newer answer.
    if (!this.cached || at >= this.cached.at) this.cached = { at, state };
    return state;
  }

  /**
   * Stops reads in flight (they end rejected) and waits for them: call before closing the client's
   * connection, since a read retrying against a closed connection throws from a timer.
   */
  async close(): Promise<void> {
    this.closing.abort();
    await this.reading?.promise.catch(() => undefined);
  }

  private async signalWithStart<T>(signal: SignalDefinition<[T]>, payload: T): Promise<void> {
    await this.client.workflow.signalWithStart('governor', {
      workflowId: this.governorId,
      taskQueue: this.taskQueue,
      args: [{}],
      signal,
      signalArgs: [payload],
      staticSummary: GOVERNOR_SUMMARY,
    });
    this.cached = undefined;
  }

  /**
   * Engages or releases the kill switch (starts the governor if needed) and waits until the governor has
   * verified the signed request: resolves with the change it recorded (`kill switch ON…`) or its refusal
   * (`refused kill-switch change: …`).
   */
  async setKillSwitch(payload: KillSwitchSignal, timeoutMs = 30_000): Promise<string> {
    const sentAt = new Date().toISOString();
    await this.signalWithStart(setKillSwitchSignal, payload);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { changes } = await this.state(true);
      const mine = [...changes]
        .reverse()
        .find((c) => c.at >= sentAt.slice(0, 19) && /^(refused kill-switch change|kill switch )/.test(c.what));
      if (mine) return mine.what;
      if (Date.now() > deadline)
        throw new Error(`the governor did not process the kill-switch change within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Feeds a tool outcome to the integration's breaker, MAC'd with the fleet key (workers only). */
  async report(integration: string, ok: boolean, fleetKey: FleetKey): Promise<void> {
    const body = { integration, ok, at: new Date().toISOString(), nonce: randomBytes(16).toString('hex') };
    const outcome: ToolOutcomeSignal = {
      ...body,
      mac: fleetKey.mac('breaker-report', breakerReportFields(this.governorId, body)),
    };
    await this.signalWithStart(reportToolOutcomeSignal, outcome);
  }
}
