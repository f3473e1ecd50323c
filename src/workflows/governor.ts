import { condition, continueAsNew, proxyLocalActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { GovernorState } from './contract';
import { AuditTrail } from './engine/audit-trail';
import { isPatched } from './engine/patches';
import { governorStateQuery, reportToolOutcomeSignal, setKillSwitchSignal } from './contract';

const MAX_CHANGES = 100;
/** Accepted kill-switch nonces kept against replays (signatures expire long before this many accumulate). */
const MAX_NONCES = 500;
/** Accepted breaker-report nonces kept against replays (a report is accepted for 10 minutes). */
const MAX_REPORT_NONCES = 2_000;

/** Verification runs in worker code, which holds the principals directory and the fleet key. */
const verify = proxyLocalActivities<Activities>({
  summary: 'governor: verify a request',
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 5 },
});

type Message = { kind: 'kill-switch'; raw: unknown } | { kind: 'report'; raw: unknown };

/** Patch marker: governors from this build on verify every request. */
const VERIFIED_GOVERNOR_PATCH = 'warden-verified-governor';

/**
 * The fleet-wide governor: one long-lived entity workflow holding the global kill switch and the circuit
 * breakers of every integration. Living in Temporal, its state is seen by every worker and survives any
 * worker restart. Nothing a sender supplies is trusted: a kill-switch change must be signed by a principal
 * the policy authorises for it, a breaker report must carry a worker's fleet-key MAC, and breaker
 * thresholds and cooldowns come from the workers' configuration. Refusals are recorded and audited.
 * Continues as new before its history grows large. Signal handlers only queue; they never throw.
 */
export async function governor(input: { state?: GovernorState; seal?: string; inbox?: Message[] } = {}): Promise<void> {
  const audit = new AuditTrail(workflowInfo().workflowId);
  if (!isPatched(VERIFIED_GOVERNOR_PATCH))
    return handOver(input.state ?? { killSwitch: { engaged: false }, breakers: {}, changes: [] }, audit);
  const inbox: Message[] = [...(input.inbox ?? [])];
  const change = (what: string, by?: string) => {
    state.changes.push({ at: new Date().toISOString(), what, ...(by ? { by } : {}) });
    if (state.changes.length > MAX_CHANGES) state.changes.splice(0, state.changes.length - MAX_CHANGES);
  };

  setHandler(setKillSwitchSignal, (raw: unknown) => void inbox.push({ kind: 'kill-switch', raw }));
  setHandler(reportToolOutcomeSignal, (raw: unknown) => void inbox.push({ kind: 'report', raw }));
  // Whoever starts a governor chooses its input: only a state sealed by its predecessor is taken as is.
  let state: GovernorState = { killSwitch: { engaged: false }, breakers: {}, changes: [] };
  // Nonce lists stay internal: every worker queries this state every second.
  // Until the state is restored the kill switch is unknown: answering "off" would let every worker's writes
  // through while a governor restarts (after continue-as-new, or a replacement by anyone with Temporal access).
  let restoring = true;
  setHandler(governorStateQuery, () => ({
    ...state,
    nonces: undefined,
    reportNonces: undefined,
    ...(restoring ? { restoring: true } : {}),
  }));
  ({ state } = await verify.openGovernorState({
    ...(input.state ? { state: input.state } : {}),
    ...(input.seal ? { seal: input.seal } : {}),
  }));
  state.nonces ??= [];
  state.reportNonces ??= [];
  restoring = false;

  const settings = await verify.governorSettings();

  const handle = async (m: Message) => {
    if (m.kind === 'kill-switch') {
      const v = await verify.verifyKillSwitch({
        raw: m.raw,
        governorId: workflowInfo().workflowId,
        usedNonces: state.nonces!,
      });
      if (!v.ok) {
        change(`refused kill-switch change: ${v.reason}`, v.claimed ? `unverified:${v.claimed}` : undefined);
        audit.add(
          'control.refused',
          { kind: 'human', id: `unverified:${v.claimed ?? '(missing)'}` },
          { control: 'kill_switch', reason: v.reason },
        );
        return;
      }
      state.nonces!.push(v.nonce);
      if (state.nonces!.length > MAX_NONCES) state.nonces!.splice(0, state.nonces!.length - MAX_NONCES);
      const { engaged, by, reason } = v;
      state.killSwitch = { engaged, by, ...(reason ? { reason } : {}), since: new Date().toISOString() };
      change(`kill switch ${engaged ? 'ON' : 'off'}${reason ? `: ${reason}` : ''}`, by);
      audit.add('kill_switch.changed', { kind: 'human', id: by }, { engaged, reason: reason ?? null, keyId: v.keyId });
      return;
    }
    const v = await verify.verifyBreakerReport({
      raw: m.raw,
      governorId: workflowInfo().workflowId,
      usedNonces: state.reportNonces!,
    });
    if (!v.valid) {
      change(`refused breaker report: ${v.reason}`);
      return;
    }
    state.reportNonces!.push(v.nonce);
    if (state.reportNonces!.length > MAX_REPORT_NONCES)
      state.reportNonces!.splice(0, state.reportNonces!.length - MAX_REPORT_NONCES);
    const { integration, success: ok } = v;
    const now = Date.now();
    const b = state.breakers[integration] ?? { state: 'closed', consecutiveFailures: 0 };
    if (ok) {
      if (b.state !== 'closed') change(`breaker ${integration} closed (trial call succeeded)`);
      state.breakers[integration] = { state: 'closed', consecutiveFailures: 0 };
      return;
    }
    b.consecutiveFailures++;
    const halfOpen = b.state === 'open' && b.openUntil !== undefined && now >= b.openUntil;
    if (halfOpen || (b.state === 'closed' && b.consecutiveFailures >= settings.breakerThreshold)) {
      b.state = 'open';
      b.openUntil = now + settings.breakerCooldownMs;
      b.openedAt = new Date(now).toISOString();
      change(`breaker ${integration} opened after ${b.consecutiveFailures} consecutive failures`);
    }
    state.breakers[integration] = b;
  };

  const full = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > 5_000;
  for (;;) {
    await condition(() => full() || audit.pending || inbox.length > 0);
    while (inbox.length) await handle(inbox.shift()!);
    if (audit.pending) await audit.flush();
    else if (full()) break;
  }
  const { seal } = await verify.sealGovernorState({ state });
  await continueAsNew<typeof governor>({ state, seal, inbox });
}

/**
 * A governor started by a build before verified requests, replaying its history: its recorded signals
 * replay as that build applied them (so the history stays deterministic), and the first live moment it
 * continues as new into the verifying governor, carrying its state and any request that arrived live.
 */
async function handOver(state: GovernorState, audit: AuditTrail): Promise<void> {
  const replaying = () => workflowInfo().unsafe.isReplaying;
  const live: Message[] = [];
  setHandler(setKillSwitchSignal, (raw: unknown) => {
    if (!replaying()) return void live.push({ kind: 'kill-switch', raw });
    const p = raw as { engaged?: boolean; by?: string; reason?: string };
    state.killSwitch = { engaged: Boolean(p.engaged), by: p.by, reason: p.reason, since: new Date().toISOString() };
    audit.add(
      'kill_switch.changed',
      { kind: 'human', id: p.by ?? '(unknown)' },
      { engaged: Boolean(p.engaged), reason: p.reason ?? null },
    );
  });
  setHandler(reportToolOutcomeSignal, (raw: unknown) => {
    if (!replaying()) live.push({ kind: 'report', raw });
    // Replayed reports only moved breaker counters; the verifying governor starts them afresh.
  });
  setHandler(governorStateQuery, () => state);
  for (;;) {
    await condition(() => audit.pending || !replaying());
    if (audit.pending) await audit.flush();
    if (!replaying()) break;
  }
  const { seal } = await verify.sealGovernorState({ state });
  await continueAsNew<typeof governor>({ state, seal, inbox: live });
}
