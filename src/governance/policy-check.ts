import { z } from 'zod';
import type { AnyTool, ToolRegistry } from '../tools/types';
import { formatIssues } from './issues';
import type { PolicyFacts, PolicyFactsProvider } from './facts';
import { establishFacts } from './facts';
import type { Policy, PolicyDecision, PolicyRequest, PolicyRule } from './policy';
import { Effect, evaluatePolicy, ruleMatches } from './policy';

/*
 * `warden policy check`: runs a policy against a table of cases (tool, arguments, the run's input or
 * facts, the expected effect) and flags rules that can never match — a tool no worker registers, a risk
 * the tool never has — or that no case exercised. What a reviewer runs before a policy goes live.
 */

/** One case of a policy table. */
export const PolicyCase = z
  .object({
    name: z.string().min(1),
    tool: z.string().min(1),
    args: z.record(z.string(), z.unknown()).default({}),
    /** The run's input, from which the installed use cases establish facts (e.g. `{ alert: <normalized> }`). */
    input: z.unknown().optional(),
    /** Facts as given (instead of establishing them from `input`). */
    facts: z.record(z.string(), z.unknown()).optional(),
    context: z.unknown().optional(),
    run: z
      .object({
        initiator: z.string().min(1).default('policy-check'),
        tainted: z.boolean().default(false),
        agent: z.string().optional(),
      })
      .strict()
      .default({ initiator: 'policy-check', tainted: false }),
    expect: z
      .object({ effect: Effect, tier: z.number().int().min(1).optional(), rule: z.string().optional() })
      .strict(),
  })
  .strict();
/** One case of a policy table. */
export type PolicyCase = z.infer<typeof PolicyCase>;

/** A policy table file: a list of cases (or `{ cases: [...] }`). */
export const PolicyTable = z.union([z.array(PolicyCase), z.object({ cases: z.array(PolicyCase) }).strict()]);

/** The outcome of one case. */
export interface CaseResult {
  name: string;
  tool: string;
  expected: string;
  got: string;
  ruleId: string;
  reason: string;
  ok: boolean;
  facts?: PolicyFacts;
}

/** A rule that can never match, or that no case made match. */
export interface RuleFinding {
  ruleId: string;
  kind: 'never' | 'unexercised';
  why: string;
}

/** The whole report. */
export interface PolicyCheckReport {
  policyVersion: string;
  results: CaseResult[];
  findings: RuleFinding[];
  passed: number;
  failed: number;
}

function effectText(e: { effect: string; tier?: number | undefined }): string {
  return e.effect === 'require_approval' ? `require_approval (tier ${e.tier ?? '?'})` : e.effect;
}

function list<T>(v: T | T[] | undefined): T[] | undefined {
  return v === undefined ? undefined : Array.isArray(v) ? v : [v];
}

/** Rules that can never match on these workers: every tool they name is unknown, or never has the risk. */
export function staticFindings(policy: Policy, tools: ToolRegistry): RuleFinding[] {
  const findings: RuleFinding[] = [];
  for (const rule of policy.document.rules) {
    const names = list(rule.tool)?.filter((t) => t !== '*');
    if (!names || names.length === 0) continue;
    const known = names.map((n) => tools.get(n)).filter((t): t is AnyTool => t !== undefined);
    if (known.length === 0) {
      findings.push({
        ruleId: rule.id,
        kind: 'never',
        why: `names ${names.join(', ')}, which no enabled use case or core tool registers`,
      });
      continue;
    }
    const risks = list(rule.risk);
    // A tool with argument-dependent risk may have any; a static one has exactly its own.
    if (risks && known.every((t) => !t.riskFor && !risks.includes(t.risk)))
      findings.push({
        ruleId: rule.id,
        kind: 'never',
        why: `applies to risk ${risks.join('|')}, but ${known.map((t) => `${t.name} is always ${t.risk}`).join(', ')}`,
      });
  }
  return findings;
}

/** Runs every case and reports mismatches and rules that never matched. */
export async function checkPolicy(
  policy: Policy,
  tools: ToolRegistry,
  providers: readonly PolicyFactsProvider[],
  cases: PolicyCase[],
): Promise<PolicyCheckReport> {
  const matched = new Set<string>();
  const results: CaseResult[] = [];
  for (const c of cases) {
    const expected = effectText(c.expect) + (c.expect.rule ? ` by ${c.expect.rule}` : '');
    const tool = tools.get(c.tool);
    let decision: PolicyDecision;
    let facts: PolicyFacts | undefined;
    let request: PolicyRequest | undefined;
    if (!tool) {
      decision = {
        effect: 'deny',
        ruleId: 'unknown-tool',
        reason: `tool ${c.tool} is not registered`,
        policyVersion: policy.version,
      };
    } else if (tool.unavailable?.() !== undefined) {
      // As decideAction: an MCP tool policy does not classify, or whose server changed since pinned.
      decision = {
        effect: 'deny',
        ruleId: 'tool-unavailable',
        reason: tool.unavailable() ?? 'unavailable',
        policyVersion: policy.version,
      };
    } else {
      const parsed = tool.input.safeParse(c.args);
      if (!parsed.success) {
        decision = {
          effect: 'deny',
          ruleId: 'invalid-arguments',
          reason: `arguments for ${c.tool} are invalid: ${formatIssues(parsed.error, '(args)')}`,
          policyVersion: policy.version,
        };
      } else {
        const args: unknown = parsed.data;
        const declared = tool.targets?.(args);
        facts =
          (c.facts as PolicyFacts | undefined) ??
          (await establishFacts(providers, {
            input: c.input,
            tool: tool.name,
            args,
            targets: declared ?? [],
            targetsDeclared: declared !== undefined,
            initiatorVerified: !c.run.initiator.startsWith('unverified:'),
          }));
        request = {
          step: { id: 'check', kind: 'action' },
          tool: {
            name: tool.name,
            known: true,
            risk: tool.riskFor ? tool.riskFor(args) : tool.risk,
            capabilities: tool.capabilities,
          },
          args,
          context: c.context ?? {},
          run: { workflowId: 'policy-check', ...c.run },
          facts,
        };
        decision = evaluatePolicy(policy, request);
      }
    }
    if (request) for (const rule of policy.document.rules) if (ruleMatches(rule, request)) matched.add(rule.id);
    const ok =
      decision.effect === c.expect.effect &&
      (c.expect.tier === undefined || decision.tier === c.expect.tier) &&
      (c.expect.rule === undefined || decision.ruleId === c.expect.rule);
    results.push({
      name: c.name,
      tool: c.tool,
      expected,
      got: `${effectText(decision)} by ${decision.ruleId}`,
      ruleId: decision.ruleId,
      reason: decision.reason,
      ok,
      ...(facts ? { facts } : {}),
    });
  }
  const never = staticFindings(policy, tools);
  const neverIds = new Set(never.map((f) => f.ruleId));
  const unexercised: RuleFinding[] = policy.document.rules
    .filter((r: PolicyRule) => !matched.has(r.id) && !neverIds.has(r.id))
    .map((r) => ({ ruleId: r.id, kind: 'unexercised', why: 'no case made it match' }));
  const failed = results.filter((r) => !r.ok).length;
  return {
    policyVersion: policy.version,
    results,
    findings: [...never, ...unexercised],
    passed: results.length - failed,
    failed,
  };
}
