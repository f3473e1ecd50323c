import { canonicalJson } from '../audit/hash';
import type { FleetKey } from './fleet-key';

/*
 * Decision tokens: proof, under the fleet key, that policy allowed (or humans approved) exactly one tool
 * call of exactly one run. `decideAction` (policy allowed) or `authorizeApproved` (signed approvals
 * re-verified) mints it; `executeTool` refuses any call without a valid one. Both ends read the run from
 * the activity's own context (Temporal's record of which workflow run called), never from the input.
 */

/** A token as the run carries it (in the decision it recorded). */
export interface DecisionToken {
  expiresAt: string;
  mac: string;
}

/** What a token binds. */
export interface TokenSubject {
  workflowId: string;
  runId: string;
  stepId: string;
  callId: string;
  tool: string;
  actionHash: string;
  policyVersion: string;
  granted: { provider: string; scopes: string[] }[];
}

const fieldsOf = (s: TokenSubject, expiresAt: string) => [
  s.workflowId,
  s.runId,
  s.stepId,
  s.callId,
  s.tool,
  s.actionHash,
  s.policyVersion,
  canonicalJson(s.granted),
  expiresAt,
];

/** Mints a token for `subject`, valid for `ttlMs`. */
export function mintDecisionToken(
  key: FleetKey,
  subject: TokenSubject,
  ttlMs: number,
  nowMs = Date.now(),
): DecisionToken {
  const expiresAt = new Date(nowMs + ttlMs).toISOString();
  return { expiresAt, mac: key.mac('decision', fieldsOf(subject, expiresAt)) };
}

/** Why a token does not authorise the call, or undefined when it does. */
export function decisionTokenProblem(
  key: FleetKey,
  subject: TokenSubject,
  token: DecisionToken | undefined,
  nowMs = Date.now(),
): string | undefined {
  if (!token || typeof token.expiresAt !== 'string')
    return 'no decision token: no policy decision or approval authorised this call';
  if (!key.verify('decision', fieldsOf(subject, token.expiresAt), token.mac))
    return 'invalid decision token: it was not issued for this run, step, call, action, policy version and capabilities';
  if (Date.parse(token.expiresAt) <= nowMs) return `decision token expired at ${token.expiresAt}`;
  return undefined;
}
