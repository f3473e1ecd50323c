import type { RunOrigins } from '../triggers/run-origin';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { FailureType } from '../errors';
import { formatIssues } from '../governance/issues';
import type { Policy } from '../governance/policy';
import { controlAuthorisations, keysOf } from '../identity/directory';
import type { FleetKey } from '../identity/fleet-key';
import type { StartAttestation } from '../identity/signed-request';
import { killSwitchFields, verifySignedRequest } from '../identity/signed-request';
import { startFields } from '../identity/start-attestation';
import type { RunProvenance } from '../triggers/run-provenance';
import type { ControlAuthority, GovernorState } from '../workflows/contract';
import type { AuditStore } from '../audit/store';
import { canonicalHash, canonicalJson } from '../audit/hash';
import type { ForEachBatchInput } from '../workflows/engine/types';
import { KillSwitchSignal, ToolOutcomeSignal } from '../workflows/contract';

/** Dependencies of the identity activities. */
export interface IdentityDeps {
  policy: Policy;
  fleetKey: FleetKey;
  breakerThreshold: number;
  breakerCooldownMs: number;
  ledger: { store: Pick<AuditStore, 'list'> };
  /** Temporal's own answers about a run's origin (src/triggers/run-origin.ts). */
  origins: RunOrigins;
}

/** The kill switch as the governor holds it. */
type KillSwitchState = GovernorState['killSwitch'];

/** A service's start attestation is accepted for this long after it was issued. */
const START_ATTESTATION_MAX_AGE_MS = 60 * 60_000;

/** Who started a run, and how that is known. */
export interface RunIdentity {
  /** The verified principal (`alice`, `token:ci`, `webhook:crowdstrike`, `schedule:<id>`), or `unverified:<claim>`. */
  initiator: string;
  verified: boolean;
  /** How: `signature:<keyId>`, `service:<name>`, `temporal-schedule`, `threshold-parent`, or `none`. */
  via: string;
  /** Why the claim was not verified. */
  reason?: string;
  /** Who may pause, resume and cancel the run, with their keys (absent from builds before signed controls). */
  controls?: Omit<ControlAuthority, 'runWorkflowId'>;
}

/** Input of `identifyRun`. */
export interface IdentifyRunInput {
  claimed: string;
  attestation?: StartAttestation;
  playbook: unknown;
  input: unknown;
  trigger?: unknown;
  provenance: RunProvenance;
}

/** A breaker report older than this is refused (a replayed failure must not open a breaker). */
const REPORT_MAX_AGE_MS = 10 * 60_000;

/** The fields a batch attestation covers: parent, child and everything the batch does and trusts. */
function batchFields(parentWorkflowId: string, childWorkflowId: string, batch: ForEachBatchInput): string[] {
  const { attestation: _none, ...rest } = batch;
  return [parentWorkflowId, childWorkflowId, canonicalHash(rest)];
}

/** The fields a breaker report's fleet-key MAC covers. */
export function breakerReportFields(
  governorId: string,
  r: Pick<ToolOutcomeSignal, 'integration' | 'ok' | 'at' | 'nonce'>,
): string[] {
  return [governorId, r.integration, r.ok ? 'ok' : 'fail', r.at, r.nonce];
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
  /** Who started the calling run (see identifyRun). */
  async function identify(input: IdentifyRunInput): Promise<RunIdentity> {
    const run = callingRun('identifyRun');
    const p = input.provenance;
    if ((p.evidence === 'temporal-schedule' || p.evidence === 'threshold-parent') && !p.discrepancy) {
      const expected = `${p.type}:`;
      const initiator = input.claimed.startsWith(expected)
        ? input.claimed
        : `${p.type}:${p.ref ?? p.parentWorkflowId ?? '?'}`;
      // What workflowInfo() shows is what the starter wrote; ask Temporal itself before trusting it.
      const confirmed =
        p.evidence === 'temporal-schedule'
          ? p.ref !== undefined && (await deps.origins.scheduleStarted(p.ref, run.workflowId, run.runId))
          : p.parentWorkflowId !== undefined && (await deps.origins.isThresholdEntity(p.parentWorkflowId));
      if (confirmed) return { initiator, verified: true, via: p.evidence };
      return {
        initiator: `unverified:${input.claimed}`,
        verified: false,
        via: 'none',
        reason:
          p.evidence === 'temporal-schedule'
            ? `schedule ${p.ref ?? '?'} did not start this run (its search attributes were set by the starting client)`
            : `the parent ${p.parentWorkflowId ?? '?'} is not a threshold entity of this deployment`,
      };
    }
    const subject = {
      workflowId: run.workflowId,
      initiator: input.claimed,
      playbook: input.playbook,
      input: input.input,
      trigger: input.trigger,
    };
    const unverified = (reason: string): Promise<RunIdentity> =>
      Promise.resolve({ initiator: `unverified:${input.claimed}`, verified: false, via: 'none', reason });
    const a = input.attestation;
    if (!a) return unverified('the start carried no attestation (not signed by the initiator or a Warden service)');
    if (a.kind === 'principal') {
      const v = verifySignedRequest({
        purpose: 'start',
        fields: startFields(subject),
        signature: a.signature,
        principal: input.claimed,
        keys: keysOf(doc.principals, [input.claimed])[input.claimed],
        nowMs: Date.now(),
        usedNonces: new Set(),
      });
      return v.ok
        ? Promise.resolve({ initiator: input.claimed, verified: true, via: `signature:${v.keyId}` })
        : unverified(v.reason);
    }
    if (!deps.fleetKey.verify('start', startFields(subject, [a.service, a.issuedAt]), a.mac))
      return unverified(`the ${a.service} attestation is not valid for this run, initiator and input`);
    if (Date.now() - Date.parse(a.issuedAt) > START_ATTESTATION_MAX_AGE_MS)
      return unverified(`the ${a.service} attestation expired (issued ${a.issuedAt})`);
    return Promise.resolve({ initiator: input.claimed, verified: true, via: `service:${a.service}` });
  }

  return {
    /**
     * Establishes who started the calling run: Temporal's own record (a schedule or threshold entity
     * started it), the initiator's signature over this run and its input, or a Warden service's
     * attestation under the fleet key. Anything else leaves the initiator unverified.
     */
    async identifyRun(input: IdentifyRunInput): Promise<RunIdentity> {
      const identity = await identify(input);
      const auth = controlAuthorisations(doc);
      const authorised = { pause: auth.pause, resume: auth.resume, cancel: auth.cancel };
      const users = new Set([...authorised.pause, ...authorised.resume, ...authorised.cancel]);
      return { ...identity, controls: { authorised, keys: keysOf(doc.principals, users) } };
    },

    /** A parent run vouches for one forEach batch: its id, initiator, steps, items and authority. */
    attestBatch(input: { childWorkflowId: string; batch: ForEachBatchInput }): Promise<{ attestation: string }> {
      const run = callingRun('attestBatch');
      return Promise.resolve({
        attestation: deps.fleetKey.mac('batch', batchFields(run.workflowId, input.childWorkflowId, input.batch)),
      });
    },

    /** A batch checks that its parent (as Temporal recorded it) vouched for exactly this input. */
    verifyBatch(input: { parentWorkflowId: string; batch: ForEachBatchInput }): Promise<{ trusted: boolean }> {
      const run = callingRun('verifyBatch');
      const { attestation, ...batch } = input.batch;
      return Promise.resolve({
        trusted: deps.fleetKey.verify('batch', batchFields(input.parentWorkflowId, run.workflowId, batch), attestation),
      });
    },

    /** Seals the governor's state under the fleet key before it continues as new. */
    sealGovernorState(input: { state: GovernorState }): Promise<{ seal: string }> {
      const run = callingRun('sealGovernorState');
      return Promise.resolve({
        seal: deps.fleetKey.mac('governor-state', [run.workflowId, canonicalJson(input.state)]),
      });
    },

    /**
     * The state a governor starts from: the sealed state its predecessor handed it, or else (a first start,
     * or a start by anyone else with a state of their choosing) the kill switch as the audit ledger last
     * recorded it for this governor — never a caller's word. Breakers start closed.
     */
    async openGovernorState(input: { state?: GovernorState; seal?: string }): Promise<{
      state: GovernorState;
      source: 'sealed' | 'ledger';
    }> {
      const run = callingRun('openGovernorState');
      if (
        input.state &&
        deps.fleetKey.verify('governor-state', [run.workflowId, canonicalJson(input.state)], input.seal)
      )
        return { state: input.state, source: 'sealed' };
      let killSwitch: KillSwitchState = { engaged: false };
      for (let fromSeq = 0; ;) {
        const page = await deps.ledger.store.list({ workflowId: run.workflowId, fromSeq, limit: 1000 });
        for (const r of page)
          if (r.type === 'kill_switch.changed') {
            const d = r.data as { engaged?: unknown; reason?: unknown };
            killSwitch = {
              engaged: d.engaged === true,
              by: r.actor.id,
              ...(typeof d.reason === 'string' ? { reason: d.reason } : {}),
              since: r.ts,
            };
          }
        if (page.length < 1000) break;
        fromSeq = page[page.length - 1]!.seq + 1;
      }
      return {
        state: {
          killSwitch,
          breakers: {},
          changes: [{ at: new Date().toISOString(), what: 'started from the audit ledger' }],
        },
        source: 'ledger',
      };
    },

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
      usedNonces: string[];
    }): Promise<
      { valid: true; integration: string; success: boolean; nonce: string } | { valid: false; reason: string }
    > {
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
      if (input.usedNonces.includes(r.nonce))
        return Promise.resolve({ valid: false, reason: `replayed report for ${r.integration}` });
      return Promise.resolve({ valid: true, integration: r.integration, success: r.ok, nonce: r.nonce });
    },
  };
}
