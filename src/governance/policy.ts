import type { PolicyFacts } from './facts';
import ms from 'ms';
import { z } from 'zod';
import type { KeyDirectory } from '../identity/directory';
import { Controls, Principals, keysOf } from '../identity/directory';
import { compiles, evaluate, truthy } from './expressions';

/*
 * Policy: a pure function (step, tool, args, context, run) → allow | require_approval(tier) | deny, with a
 * reason and the policy version. Pure and synchronous, so it is safe anywhere (it runs in a local activity
 * whose result — the decision — is recorded in history). It fails closed: an unknown tool or any error
 * while evaluating is a deny.
 */

/** How much harm a tool can do. */
export const Risk = z.enum(['read', 'write', 'destructive']);
/** How much harm a tool can do. */
export type Risk = z.infer<typeof Risk>;

/** What policy decides. */
export const Effect = z.enum(['allow', 'require_approval', 'deny']);
/** What policy decides. */
export type Effect = z.infer<typeof Effect>;

const duration = z.string().refine((v) => typeof ms(v as ms.StringValue) === 'number' && ms(v as ms.StringValue) > 0, {
  message: 'must be a duration like 30s, 15m, 4h or 2d',
});

const EffectSpec = z
  .object({ effect: Effect, tier: z.number().int().min(1).optional() })
  .strict()
  .refine((e) => (e.effect === 'require_approval') === (e.tier !== undefined), {
    message: 'require_approval needs a tier, and only require_approval takes one',
  });
type EffectSpec = z.infer<typeof EffectSpec>;

const Rule = z
  .object({
    id: z.string().min(1),
    description: z.string().optional(),
    /** Tool name(s) this rule applies to; "*" or omitted = any tool. */
    tool: z.union([z.string(), z.array(z.string())]).optional(),
    /** Effective risk(s) this rule applies to; omitted = any. */
    risk: z.union([Risk, z.array(Risk)]).optional(),
    /**
     * JMESPath over { step, tool, args, context, run, facts }; the rule applies when it is truthy. Decide
     * on `facts` (established by Warden per call and target) rather than `context` (what the playbook says).
     */
    when: z
      .string()
      .optional()
      .superRefine((expr, ctx) => {
        const problem = expr === undefined ? undefined : compiles(expr);
        if (problem) ctx.addIssue({ code: 'custom', message: `invalid JMESPath in when: ${problem}` });
      }),
    effect: Effect,
    tier: z.number().int().min(1).optional(),
    reason: z.string().optional(),
  })
  .strict()
  .refine((r) => (r.effect === 'require_approval') === (r.tier !== undefined), {
    message: 'require_approval needs a tier, and only require_approval takes one',
  });
/** One policy rule. */
export type PolicyRule = z.infer<typeof Rule>;

/**
 * How policy classifies one tool of an MCP server (src/mcp): its risk — which Warden never takes from the
 * server (its readOnlyHint/destructiveHint annotations are shown to operators, never trusted) — and
 * optionally a rate-limit class. A tool the policy does not classify is denied.
 */
export const McpToolClass = z
  .object({ risk: Risk, rateLimitClass: z.string().min(1).optional(), description: z.string().optional() })
  .strict();
/** How policy classifies one MCP tool. */
export type McpToolClass = z.infer<typeof McpToolClass>;

/** A use case's policy fragment (its `policy.yaml`): rules only; tiers and groups come from the main policy. */
export const PolicyFragment = z.object({ rules: z.array(Rule).default([]) }).strict();
/** A use case's policy fragment. */
export type PolicyFragment = z.infer<typeof PolicyFragment>;

const Stage = z.object({ groups: z.array(z.string().min(1)).min(1), timeout: duration }).strict();
const Tier = z
  .object({
    /** Distinct approvers needed. */
    required: z.number().int().min(1).default(1),
    /** Who is asked first, and who is asked next when a stage times out. The last timeout denies. */
    stages: z.array(Stage).min(1),
  })
  .strict();

/** A policy file, as written (YAML or JSON). */
export const PolicyDocument = z
  .object({
    version: z.literal(1),
    name: z.string().min(1).default('policy'),
    /** Effect by effective risk when no rule matches. */
    defaults: z
      .object({
        read: EffectSpec.default({ effect: 'allow' }),
        write: EffectSpec.default({ effect: 'require_approval', tier: 1 }),
        destructive: EffectSpec.default({ effect: 'require_approval', tier: 2 }),
      })
      .strict()
      .default({
        read: { effect: 'allow' },
        write: { effect: 'require_approval', tier: 1 },
        destructive: { effect: 'require_approval', tier: 2 },
      }),
    rules: z.array(Rule).default([]),
    /** Merge the enabled use cases' rule fragments (src/usecases/<name>/policy.yaml) into `rules`. */
    useCaseRules: z.boolean().default(false),
    /** Floors applied once a run has seen untrusted content, whatever the rules say. */
    tainted: z.object({ write: EffectSpec.optional(), destructive: EffectSpec.optional() }).strict().default({}),
    tiers: z.record(z.string().regex(/^[1-9]\d*$/, 'tier keys are positive integers'), Tier),
    /** Approver directory: group → user ids. */
    groups: z.record(z.string(), z.array(z.string().min(1))).default({}),
    /** Principals directory: user → public keys. Approvals and controls must be signed with an enrolled key. */
    principals: Principals.default({}),
    /** Which groups may pause, resume and cancel runs and flip the kill switch (src/identity/directory.ts). */
    controls: Controls.optional(),
    /**
     * Credential capabilities this deployment grants to tool calls: provider → scopes (`*` = all).
     * Omitted: a call that policy does not deny is granted the capabilities its tool declares.
     */
    capabilities: z.record(z.string(), z.array(z.string().min(1))).optional(),
    /** MCP tools' classification: server (as in WARDEN_MCP_SERVERS_FILE) → the server's tool name → class. */
    mcp: z.record(z.string(), z.record(z.string(), McpToolClass)).optional(),
  })
  .strict()
  .superRefine((doc, ctx) => {
    const tiers = Object.keys(doc.tiers).map(Number);
    if (!tiers.length) {
      ctx.addIssue({ code: 'custom', path: ['tiers'], message: 'define at least one approval tier' });
      return;
    }
    const top = Math.max(...tiers);
    if ((doc.tiers[String(top)]?.required ?? 0) < 2) {
      ctx.addIssue({
        code: 'custom',
        path: ['tiers', String(top), 'required'],
        message: `the highest tier (${top}) needs two distinct approvers: set required: 2`,
      });
    }
    const checkTier = (tier: number | undefined, path: (string | number)[]) => {
      if (tier !== undefined && !doc.tiers[String(tier)]) {
        ctx.addIssue({ code: 'custom', path, message: `tier ${tier} is not defined under tiers` });
      }
    };
    doc.rules.forEach((r, i) => checkTier(r.tier, ['rules', i, 'tier']));
    for (const k of ['read', 'write', 'destructive'] as const) checkTier(doc.defaults[k].tier, ['defaults', k, 'tier']);
    for (const k of ['write', 'destructive'] as const) checkTier(doc.tainted[k]?.tier, ['tainted', k, 'tier']);
    for (const [t, tier] of Object.entries(doc.tiers)) {
      tier.stages.forEach((s, i) =>
        s.groups.forEach((g) => {
          if (!doc.groups[g])
            ctx.addIssue({
              code: 'custom',
              path: ['tiers', t, 'stages', i],
              message: `group "${g}" is not defined under groups`,
            });
        }),
      );
    }
    for (const [action, groups] of Object.entries(doc.controls ?? {}))
      (groups ?? []).forEach((g, i) => {
        if (!doc.groups[g])
          ctx.addIssue({
            code: 'custom',
            path: ['controls', action, i],
            message: `group "${g}" is not defined under groups`,
          });
      });
    const ids = new Set<string>();
    doc.rules.forEach((r, i) => {
      if (ids.has(r.id))
        ctx.addIssue({ code: 'custom', path: ['rules', i, 'id'], message: `rule id "${r.id}" is used twice` });
      ids.add(r.id);
    });
  });
/** A parsed policy file. */
export type PolicyDocument = z.infer<typeof PolicyDocument>;

/** A policy with its version: a hash of its canonical JSON, recorded with every decision. */
export interface Policy {
  document: PolicyDocument;
  version: string;
}

/** Everything policy may look at for one decision. */
export interface PolicyRequest {
  step: { id: string; kind: string };
  tool: { name: string; known: boolean; risk: Risk; capabilities: { provider: string; scopes: string[] }[] };
  args: unknown;
  context: unknown;
  run: { workflowId: string; initiator: string; tainted: boolean; agent?: string };
  /** What Warden established about this call (src/governance/facts.ts); absent facts read as null. */
  facts?: PolicyFacts;
}

/** What policy decided, and why. */
export interface PolicyDecision {
  effect: Effect;
  tier?: number;
  reason: string;
  /** The rule that decided, or `default:<risk>`, `tainted:<risk>`, `unknown-tool`, `error`. */
  ruleId: string;
  policyVersion: string;
}

function rank(e: EffectSpec): number {
  return e.effect === 'deny' ? 1_000_000 : e.effect === 'require_approval' ? 1_000 + (e.tier ?? 0) : 0;
}

function list<T>(v: T | T[] | undefined): T[] | undefined {
  return v === undefined ? undefined : Array.isArray(v) ? v : [v];
}

/** Whether a rule applies to a request (its tool, risk and `when` all match); false when `when` cannot be evaluated. */
export function ruleMatches(rule: PolicyRule, req: PolicyRequest): boolean {
  try {
    return ruleApplies(rule, req);
  } catch {
    return false;
  }
}

function ruleApplies(rule: PolicyRule, req: PolicyRequest): boolean {
  const tools = list(rule.tool);
  if (tools && !tools.includes('*') && !tools.includes(req.tool.name)) return false;
  const risks = list(rule.risk);
  if (risks && !risks.includes(req.tool.risk)) return false;
  if (rule.when === undefined) return true;
  return truthy(
    evaluate(rule.when, {
      step: req.step,
      tool: req.tool,
      args: req.args,
      context: req.context,
      run: req.run,
      facts: req.facts ?? null,
    }),
  );
}

/**
 * Decides one action. Among matching rules the most restrictive wins (deny > higher tier > lower tier >
 * allow), so no rule can silently relax another; with no match the risk default applies; a tainted run
 * is raised to the `tainted` floor. Never throws: an error while evaluating is a deny.
 */
export function evaluatePolicy(policy: Policy, req: PolicyRequest): PolicyDecision {
  const base = { policyVersion: policy.version };
  try {
    if (!req.tool.known) {
      return {
        ...base,
        effect: 'deny',
        ruleId: 'unknown-tool',
        reason: `tool "${req.tool.name}" is not registered on this worker`,
      };
    }
    const doc = policy.document;
    let chosen: { spec: EffectSpec; ruleId: string; reason: string } | undefined;
    for (const rule of doc.rules) {
      if (!ruleApplies(rule, req)) continue;
      const spec: EffectSpec = { effect: rule.effect, tier: rule.tier };
      if (!chosen || rank(spec) > rank(chosen.spec)) {
        chosen = { spec, ruleId: rule.id, reason: rule.reason ?? rule.description ?? `rule ${rule.id}` };
      }
    }
    chosen ??= {
      spec: doc.defaults[req.tool.risk],
      ruleId: `default:${req.tool.risk}`,
      reason: `default for ${req.tool.risk} tools`,
    };
    if (req.run.tainted && req.tool.risk !== 'read') {
      const floor = doc.tainted[req.tool.risk];
      if (floor && rank(floor) > rank(chosen.spec)) {
        chosen = {
          spec: floor,
          ruleId: `tainted:${req.tool.risk}`,
          reason: `run has seen untrusted content: ${req.tool.risk} tools need ${floor.effect === 'deny' ? 'to be denied' : `tier ${floor.tier} approval`}`,
        };
      }
    }
    return {
      ...base,
      effect: chosen.spec.effect,
      ...(chosen.spec.tier ? { tier: chosen.spec.tier } : {}),
      ruleId: chosen.ruleId,
      reason: chosen.reason,
    };
  } catch (err) {
    return {
      ...base,
      effect: 'deny',
      ruleId: 'error',
      reason: `policy evaluation failed, denied (fail closed): ${(err as Error).message}`,
    };
  }
}

/** The declared capabilities of a tool that the policy grants (all of them when the policy lists none). */
export function grantedCapabilities(
  doc: PolicyDocument,
  declared: { provider: string; scopes: string[] }[],
): { provider: string; scopes: string[] }[] {
  if (!doc.capabilities) return declared;
  const allowed = doc.capabilities;
  return declared.filter((c) => {
    const scopes = allowed[c.provider];
    return scopes !== undefined && (scopes.includes('*') || c.scopes.every((s) => scopes.includes(s)));
  });
}

/** Who is asked at one escalation stage, and for how long. Eligibility is cumulative across stages. */
export interface ApprovalStage {
  groups: string[];
  /** Every user eligible at this stage (this stage's groups and all earlier ones). */
  approvers: string[];
  timeoutMs: number;
}

/** How an approval of one tier proceeds. */
export interface ApprovalPlan {
  tier: number;
  required: number;
  stages: ApprovalStage[];
  /** The enrolled keys of every eligible approver, as the directory held them when approval was requested. */
  keys: KeyDirectory;
}

/** Resolves a tier into its escalation stages with their eligible approvers. @throws for an undefined tier. */
export function approvalPlan(doc: PolicyDocument, tier: number): ApprovalPlan {
  const t = doc.tiers[String(tier)];
  if (!t) throw new Error(`approval tier ${tier} is not defined in the policy`);
  const eligible = new Set<string>();
  const groups: string[] = [];
  const stages = t.stages.map((s) => {
    for (const g of s.groups) {
      groups.push(g);
      for (const u of doc.groups[g] ?? []) eligible.add(u);
    }
    return {
      groups: [...new Set(groups)],
      approvers: [...eligible].sort(),
      timeoutMs: ms(s.timeout as ms.StringValue),
    };
  });
  return { tier, required: t.required, stages, keys: keysOf(doc.principals, eligible) };
}
