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
    let state: GovernorState;
    try {
      state = await this.client.workflow.getHandle(this.governorId).query(governorStateQuery);
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
    this.cached = { at: Date.now(), state };
    return state;
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
