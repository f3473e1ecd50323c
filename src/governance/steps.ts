import { z } from 'zod';
import { compiles } from './expressions';

/*
 * The step model: a playbook is data. Each step has an id, a kind and its config, so a declarative story
 * format maps onto it one to one. Workflow-safe (zod only).
 */

const stepId = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,62}$/, 'step ids are lower-case letters, digits, _ and - (e.g. enrich_ip)');
const expression = z
  .string()
  .min(1)
  .superRefine((expr, ctx) => {
    const problem = compiles(expr);
    if (problem) ctx.addIssue({ code: 'custom', message: `invalid JMESPath expression "${expr}": ${problem}` });
  });
/** What happens when a step fails: stop the run (default) or record the failure and go on. */
const onError = z.enum(['fail', 'continue']).default('fail');
/**
 * With `onError: continue`: what the failed step's output is, besides `failed: true` and `error` — e.g. a
 * conservative stand-in verdict, so later steps read the same fields whether the step worked or not.
 * Rendered like args, with the failure in scope as `error` (`{{ error.type }}`, `{{ error.message }}`).
 */
const fallback = z.record(z.string(), z.unknown()).optional();

/** Runs one tool through policy (and an approval gate if policy says so). */
export const ActionStep = z.object({
  id: stepId,
  kind: z.literal('action'),
  tool: z.string().min(1),
  /** Tool arguments; strings of the form `{{ expr }}` are JMESPath over { input, steps, item, index }. */
  args: z.record(z.string(), z.unknown()).default({}),
  /** Facts policy may match on (e.g. the asset being acted on), rendered like args. */
  context: z.record(z.string(), z.unknown()).default({}),
  summary: z.string().max(200).optional(),
  onError,
  fallback,
});
/** Runs one tool through policy (and an approval gate if policy says so). */
export type ActionStep = z.infer<typeof ActionStep>;

/** A human gate: the run waits until the tier's approvers decide, escalating on timeout. */
export const ApprovalStep = z.object({
  id: stepId,
  kind: z.literal('approval'),
  title: z.string().min(1).max(200),
  /** Approval tier (policy `tiers` key). */
  tier: z.number().int().min(1),
  /** What the approver is asked to judge; rendered like action args and bound into the approval hash. */
  details: z.record(z.string(), z.unknown()).default({}),
  onError,
});
/** A human gate. */
export type ApprovalStep = z.infer<typeof ApprovalStep>;

/** Lets an agent (registered on the workers) reason and call tools from its allowlist, under the same policy. */
export const AgentStep = z.object({
  id: stepId,
  kind: z.literal('agent'),
  agent: z.string().min(1),
  /** The task data (any JSON, or a `{{ expr }}` string), rendered like args; passed to the model as delimited untrusted data. */
  input: z.unknown().default({}),
  /** Facts policy may match on for the agent's tool calls (e.g. the asset), rendered like args. */
  context: z.record(z.string(), z.unknown()).default({}),
  /** What to ask; the agent's instructions say how. */
  task: z.string().max(4000).optional(),
  onError,
  fallback,
});
/** An agent step. */
export type AgentStep = z.infer<typeof AgentStep>;

/** A step of any kind. */
export type Step = ActionStep | ApprovalStep | AgentStep | BranchStep | ForEachStep;

/** Chooses `then` or `else` by a JMESPath condition over earlier outputs (JMESPath truthiness). */
export interface BranchStep {
  id: string;
  kind: 'branch';
  when: string;
  then: Step[];
  else: Step[];
  onError: 'fail' | 'continue';
}

/** Runs `steps` once per item, `concurrency` at a time, in child workflows of `batchSize` items. */
export interface ForEachStep {
  id: string;
  kind: 'forEach';
  /** JMESPath expression that must yield an array. */
  items: string;
  steps: Step[];
  concurrency: number;
  batchSize: number;
  /** `continue`: run every item and collect failures; `failFast`: stop at the first failed item. */
  onItemFailure: 'continue' | 'failFast';
  /** `all`: the step output lists every item's outputs; `failures`: only failed items (keeps payloads small for huge fan-outs). */
  collect?: 'all' | 'failures';
  /**
   * Run the items in this run itself, not in batch child workflows, while items × steps per item is at most
   * INLINE_MAX_ITEM_STEPS (more go to batches as usual): for small fan-outs such as enrichment lookups,
   * where a child workflow per batch costs more than the items. An inline forEach holds no forEach.
   */
  inline?: boolean;
  onError: 'fail' | 'continue';
}

/** Item steps (items × steps per item) an `inline` forEach runs in the run's own history; above, batches. */
export const INLINE_MAX_ITEM_STEPS = 64;

/** Zod schema for any step (recursive through branch and forEach). */
export const Step: z.ZodType<Step, unknown> = z.lazy(() =>
  z.discriminatedUnion('kind', [ActionStep, ApprovalStep, AgentStep, BranchStepSchema, ForEachStepSchema]),
);

const BranchStepSchema = z.object({
  id: stepId,
  kind: z.literal('branch'),
  when: expression,
  then: z.array(z.lazy(() => Step)).default([]),
  else: z.array(z.lazy(() => Step)).default([]),
  onError,
});

const ForEachStepSchema = z.object({
  id: stepId,
  kind: z.literal('forEach'),
  items: expression,
  steps: z.array(z.lazy(() => Step)).min(1),
  concurrency: z.number().int().min(1).max(100).default(5),
  batchSize: z.number().int().min(1).max(500).default(100),
  onItemFailure: z.enum(['continue', 'failFast']).default('continue'),
  collect: z.enum(['all', 'failures']).default('all'),
  inline: z.boolean().optional(),
  onError,
});

function allIds(steps: Step[], out: string[] = []): string[] {
  for (const s of steps) {
    out.push(s.id);
    if (s.kind === 'branch') {
      allIds(s.then, out);
      allIds(s.else, out);
    } else if (s.kind === 'forEach') allIds(s.steps, out);
  }
  return out;
}

/**
 * Most steps one run's own history may hold. Temporal ends a run at 51,200 history events; a governed
 * step costs about 13 (decision, tool activity, audit), an agent or approval step more. Measured: a flat
 * 5,000-step playbook was cut off at step 3,938 with no end record. Refused up front instead.
 */
export const MAX_RUN_STEPS = 1_000;

/** Steps that execute in the run's own history: branches and their arms; a forEach is one (its items run in child batches). */
export function stepsInRun(steps: Step[]): number {
  let n = 0;
  for (const s of steps) {
    n++;
    if (s.kind === 'branch') n += stepsInRun(s.then) + stepsInRun(s.else);
    if (s.kind === 'forEach' && s.inline) n += INLINE_MAX_ITEM_STEPS;
  }
  return n;
}

/** Ids of `inline` forEach steps that hold a forEach (their batch ids would not be unique per item). */
function nestedInInline(steps: Step[], inInline = false, out: string[] = []): string[] {
  for (const s of steps) {
    if (s.kind === 'branch') {
      nestedInInline(s.then, inInline, out);
      nestedInInline(s.else, inInline, out);
    } else if (s.kind === 'forEach') {
      if (inInline) out.push(s.id);
      nestedInInline(s.steps, inInline || Boolean(s.inline), out);
    }
  }
  return out;
}

/** Steps that set a `fallback` without `onError: continue` (the fallback would never be used). */
function fallbackWithoutContinue(steps: Step[], out: string[] = []): string[] {
  for (const s of steps) {
    if ((s.kind === 'action' || s.kind === 'agent') && s.fallback && s.onError !== 'continue') out.push(s.id);
    if (s.kind === 'branch') {
      fallbackWithoutContinue(s.then, out);
      fallbackWithoutContinue(s.else, out);
    } else if (s.kind === 'forEach') fallbackWithoutContinue(s.steps, out);
  }
  return out;
}

/**
 * A named sequence of steps, and the `finally` steps that run after them whatever the outcome (completed,
 * failed, approval rejected or timed out, cancelled), with `run.outcome` and `run.failure` to read. Step
 * ids are unique across the whole playbook, `finally` included (outputs are keyed by id).
 */
export const Playbook = z
  .object({
    name: z.string().min(1).max(100),
    description: z.string().max(2000).optional(),
    steps: z.array(Step).min(1),
    finally: z.array(Step).optional(),
  })
  .superRefine((p, ctx) => {
    for (const id of fallbackWithoutContinue([...p.steps, ...(p.finally ?? [])]))
      ctx.addIssue({ code: 'custom', message: `step "${id}" sets a fallback but not onError: continue` });
    const seen = new Set<string>();
    for (const id of allIds([...p.steps, ...(p.finally ?? [])])) {
      if (seen.has(id)) ctx.addIssue({ code: 'custom', message: `step id "${id}" is used twice; ids must be unique` });
      seen.add(id);
    }
    for (const id of nestedInInline([...p.steps, ...(p.finally ?? [])]))
      ctx.addIssue({
        code: 'custom',
        message: `forEach "${id}" is inside an inline forEach: an inline forEach may not hold another forEach (remove inline: true from the outer one)`,
      });
    const n = stepsInRun(p.steps);
    if (n > MAX_RUN_STEPS)
      ctx.addIssue({
        code: 'custom',
        path: ['steps'],
        message: `${n} steps run in one workflow history; at most ${MAX_RUN_STEPS} fit (Temporal ends a run at 51,200 history events, part-way and without an end record) — split the playbook, or move repeated work into a forEach, whose items run in child workflows`,
      });
  });
/** A named sequence of steps. */
export type Playbook = z.infer<typeof Playbook>;
