import { z } from 'zod';
import { defineTool } from '../../../tools/types';
import { NormalizedAlert } from '../alert';
import type { AssetFact, IntelFact } from '../risk';
import { riskFactsOf, scoreRisk } from '../risk';
import { routeVerdict } from '../routing';
import type { AgentVerdict } from '../routing';

/*
 * `triage_assess`: the deterministic half of a verdict. Scores risk from the run's facts (the alert's
 * vendor severity and detection type, the intel and asset lookups the run recorded) and combines it with
 * the agent's verdict: any disagreement, a benign verdict on a high-risk, intel-hit or canary alert, a
 * rationale that contradicts the verdict, low confidence or a missing/failed verdict routes to a human.
 * A model can only add reasons for a human, never remove one. Read-only and pure.
 */

const IntelFactSchema = z.object({
  indicator: z.string(),
  type: z.string().optional(),
  verdict: z.enum(['malicious', 'suspicious', 'benign', 'unknown']),
  sources: z.array(z.object({ feed: z.string(), detail: z.string() })).optional(),
});
const AssetFactSchema = z.object({
  host: z.string(),
  criticality: z.enum(['low', 'medium', 'high', 'critical']),
  found: z.boolean().optional(),
  tags: z.array(z.string()).optional(),
});

/** Keeps the entries of a recorded lookup list that have the expected shape (a failed lookup is null). */
function valid<T>(schema: z.ZodType<T>, items: unknown): T[] {
  if (!Array.isArray(items)) return [];
  return items.flatMap((i) => {
    const r = schema.safeParse(i);
    return r.success ? [r.data] : [];
  });
}

/** Arguments of `triage_assess`. */
export const AssessInput = z.object({
  alert: NormalizedAlert,
  intel: z.unknown().optional(),
  assets: z.unknown().optional(),
  /** The agent's output as recorded (validated here: a malformed or missing verdict goes to a human). */
  verdict: z.unknown().optional(),
  confidenceThreshold: z.number().min(0).max(1).default(0.7),
});

/** What `triage_assess` returns. */
export const AssessResult = z.object({
  score: z.number(),
  band: z.enum(['low', 'medium', 'high', 'critical']),
  factors: z.array(z.object({ factor: z.string(), points: z.number(), detail: z.string() })),
  route: z.enum(['auto', 'human']),
  reasons: z.array(z.object({ code: z.string(), detail: z.string() })),
});
/** What `triage_assess` returns. */
export type AssessResult = z.infer<typeof AssessResult>;

/** Risk and route of one triage outcome. Pure. */
export function assessTriage(args: z.output<typeof AssessInput>): AssessResult {
  const intel: IntelFact[] = valid(IntelFactSchema, args.intel);
  const assets: AssetFact[] = valid(AssetFactSchema, args.assets);
  const risk = scoreRisk(riskFactsOf(args.alert, { intel, assets }));
  const v = args.verdict as Partial<AgentVerdict> | null | undefined;
  const verdict =
    v && typeof v === 'object' && !('failed' in v && (v as { failed?: unknown }).failed)
      ? (v as AgentVerdict)
      : undefined;
  const routing = routeVerdict(risk, verdict, { confidenceThreshold: args.confidenceThreshold });
  return { ...risk, route: routing.route, reasons: routing.reasons };
}

/** Builds `triage_assess`. */
export function createAssessTool() {
  return defineTool({
    name: 'triage_assess',
    description:
      "Scores an alert's risk from facts (vendor severity, detection type, intel and asset lookups) and decides " +
      "whether the agent's verdict may be acted on alone or needs a human, with every reason.",
    input: AssessInput,
    output: AssessResult,
    risk: 'read',
    capabilities: [],
    integration: 'triage',
    summarize: (a) => `assess ${a.alert.source}/${a.alert.alertId}`,
    execute: (args) => Promise.resolve(assessTriage(args)),
  });
}
