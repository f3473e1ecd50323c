import { condition, continueAsNew, setHandler, workflowInfo } from '@temporalio/workflow';
import type { GovernorState } from './contract';
import { AuditTrail } from './engine/audit-trail';
import {
  KillSwitchSignal,
  ToolOutcomeSignal,
  governorStateQuery,
  reportToolOutcomeSignal,
  setKillSwitchSignal,
} from './contract';

const MAX_CHANGES = 100;

/**
 * The fleet-wide governor: one long-lived entity workflow holding the global kill switch and the circuit
 * breakers of every integration. Living in Temporal, its state is seen by every worker and survives any
 * worker restart. Continues as new before its history grows large. Signal handlers never throw.
 */
export async function governor(input: { state?: GovernorState } = {}): Promise<void> {
  const state: GovernorState = input.state ?? { killSwitch: { engaged: false }, breakers: {}, changes: [] };
  const audit = new AuditTrail(workflowInfo().workflowId);
  const change = (what: string, by?: string) => {
    state.changes.push({ at: new Date().toISOString(), what, ...(by ? { by } : {}) });
    if (state.changes.length > MAX_CHANGES) state.changes.splice(0, state.changes.length - MAX_CHANGES);
  };

  setHandler(setKillSwitchSignal, (raw) => {
    const p = KillSwitchSignal.safeParse(raw);
    if (!p.success)
      return change(`refused malformed setKillSwitch payload: ${p.error.issues.map((i) => i.message).join('; ')}`);
    const { engaged, by, reason } = p.data;
    state.killSwitch = engaged
      ? { engaged, by, reason, since: new Date().toISOString() }
      : { engaged: false, by, reason, since: new Date().toISOString() };
    change(`kill switch ${engaged ? 'ON' : 'off'}${reason ? `: ${reason}` : ''}`, by);
    audit.add('kill_switch.changed', { kind: 'human', id: by }, { engaged, reason: reason ?? null });
  });

  setHandler(reportToolOutcomeSignal, (raw) => {
    const p = ToolOutcomeSignal.safeParse(raw);
    if (!p.success)
      return change(`refused malformed reportToolOutcome payload: ${p.error.issues.map((i) => i.message).join('; ')}`);
    const { integration, ok, threshold, cooldownMs } = p.data;
    const now = Date.now();
    const b = state.breakers[integration] ?? { state: 'closed', consecutiveFailures: 0 };
    if (ok) {
      if (b.state !== 'closed') change(`breaker ${integration} closed (trial call succeeded)`);
      state.breakers[integration] = { state: 'closed', consecutiveFailures: 0 };
      return;
    }
    b.consecutiveFailures++;
    const halfOpen = b.state === 'open' && b.openUntil !== undefined && now >= b.openUntil;
    if (halfOpen || (b.state === 'closed' && b.consecutiveFailures >= threshold)) {
      b.state = 'open';
      b.openUntil = now + cooldownMs;
      b.openedAt = new Date(now).toISOString();
      change(`breaker ${integration} opened after ${b.consecutiveFailures} consecutive failures`);
    }
    state.breakers[integration] = b;
  });

  setHandler(governorStateQuery, () => state);

  const full = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > 5_000;
  for (;;) {
    await condition(() => full() || audit.pending);
    if (audit.pending) await audit.flush();
    else break;
  }
  await continueAsNew<typeof governor>({ state });
}
