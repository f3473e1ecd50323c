import { ApplicationFailure, Context } from '@temporalio/activity';
import { FailureType } from '../errors';
import { formatIssues } from '../governance/issues';
import type { Policy } from '../governance/policy';
import { controlAuthorisations, keysOf } from '../identity/directory';
import type { FleetKey } from '../identity/fleet-key';
import { verifySignedRequest } from '../identity/signed-request';
import { KillSwitchSignal, ToolOutcomeSignal, killSwitchFields } from '../workflows/contract';

/** Dependencies of the identity activities. */
export interface IdentityDeps {
  policy: Policy;
  fleetKey: FleetKey;
  breakerThreshold: number;
  breakerCooldownMs: number;
}

/** A breaker report older than this is refused (a replayed failure must not open a breaker). */
const REPORT_MAX_AGE_MS = 10 * 60_000;

/** The fields a breaker report's fleet-key MAC covers. */
export function breakerReportFields(
  governorId: string,
  r: Pick<ToolOutcomeSignal, 'integration' | 'ok' | 'at'>,
): string[] {
  return [governorId, r.integration, r.ok ? 'ok' : 'fail', r.at];
}

/** The calling workflow, when called as a local activity; refuses any other caller. */
export function callingRun(activity: string): { workflowId: string; runId: string } {
  const info = Context.current().info;
  const run = info.workflowExecution;
  if (!info.isLocal || !run)
    throw ApplicationFailure.create({
      type: FailureType.PolicyDenied,
      nonRetryable: true,
      message: `${activity} runs only as a local activity of a Warden workflow (called as a ${info.isLocal ? 'local' : 'remote'} activity)`,
    });
  return run;
}

/** Builds the activities that verify who is asking: the governor's requests, against the worker's directory and fleet key. */
export function createIdentityActivities(deps: IdentityDeps) {
  const doc = deps.policy.document;
  return {
    /** Breaker threshold and cooldown, from this worker's configuration (never from a sender). */
    governorSettings(): Promise<{ breakerThreshold: number; breakerCooldownMs: number }> {
      callingRun('governorSettings');
      return Promise.resolve({ breakerThreshold: deps.breakerThreshold, breakerCooldownMs: deps.breakerCooldownMs });
    },

    /**
     * Verifies a kill-switch change: well formed, signed by `by` with an enrolled unrevoked key over this
     * governor and this change, fresh, not replayed, and `by` authorised by the policy's controls.
     */
    verifyKillSwitch(input: {
      raw: unknown;
      governorId: string;
      usedNonces: string[];
    }): Promise<
      | { ok: true; engaged: boolean; by: string; reason?: string; keyId: string; nonce: string }
      | { ok: false; reason: string; claimed?: string }
    > {
      const run = callingRun('verifyKillSwitch');
      const parsed = KillSwitchSignal.safeParse(input.raw);
      if (!parsed.success)
        return Promise.resolve({
          ok: false,
          reason: `malformed setKillSwitch payload: ${formatIssues(parsed.error, '(payload)')}`,
        });
      const s = parsed.data;
      const action = s.engaged ? 'killSwitchOn' : 'killSwitchOff';
      if (!controlAuthorisations(doc)[action].includes(s.by))
        return Promise.resolve({
          ok: false,
          claimed: s.by,
          reason: `${s.by} is not authorised to turn the kill switch ${s.engaged ? 'on' : 'off'} (policy controls.${action})`,
        });
      const v = verifySignedRequest({
        purpose: 'kill-switch',
        fields: killSwitchFields(run.workflowId, s),
        signature: s.signature,
        principal: s.by,
        keys: keysOf(doc.principals, [s.by])[s.by],
        nowMs: Date.now(),
        usedNonces: new Set(input.usedNonces),
      });
      if (!v.ok) return Promise.resolve({ ok: false, claimed: s.by, reason: v.reason });
      return Promise.resolve({
        ok: true,
        engaged: s.engaged,
        by: s.by,
        ...(s.reason ? { reason: s.reason } : {}),
        keyId: v.keyId,
        nonce: s.signature!.nonce,
      });
    },

    /** Verifies a breaker report: MAC'd by a worker of this fleet for this governor, and recent. */
    verifyBreakerReport(input: {
      raw: unknown;
      governorId: string;
    }): Promise<{ valid: true; integration: string; success: boolean } | { valid: false; reason: string }> {
      const run = callingRun('verifyBreakerReport');
      const parsed = ToolOutcomeSignal.safeParse(input.raw);
      if (!parsed.success)
        return Promise.resolve({
          valid: false,
          reason: `malformed report: ${formatIssues(parsed.error, '(payload)')}`,
        });
      const r = parsed.data;
      if (!deps.fleetKey.verify('breaker-report', breakerReportFields(run.workflowId, r), r.mac))
        return Promise.resolve({
          valid: false,
          reason: `report for ${r.integration} not signed by a worker of this fleet`,
        });
      if (Math.abs(Date.now() - Date.parse(r.at)) > REPORT_MAX_AGE_MS)
        return Promise.resolve({ valid: false, reason: `stale report for ${r.integration} (made at ${r.at})` });
      return Promise.resolve({ valid: true, integration: r.integration, success: r.ok });
    },
  };
}
