import { z } from 'zod';
import type { AgentDefinition } from '../../agents/types';

/** A containment the agent may recommend; the playbook decides whether and how it runs (through policy). */
export const RecommendedAction = z.object({
  action: z.enum(['isolate_host', 'disable_user', 'block_indicator', 'none']),
  /** Host name, user name, or indicator value — must be an entity of the alert to be acted on. */
  target: z.string().min(1).max(500),
  /** For block_indicator: what kind of indicator the target is. */
  indicatorType: z.enum(['ipv4', 'ipv6', 'domain', 'sha256', 'md5']).optional(),
  reason: z.string().max(1000),
});
/** A recommended containment. */
export type RecommendedAction = z.infer<typeof RecommendedAction>;

/** The alert scorer's verdict. */
export const TriageVerdict = z.object({
  verdict: z.enum(['benign', 'suspicious', 'malicious']),
  confidence: z.number().min(0).max(1),
  rationale: z.string().min(1).max(4000),
  recommendedActions: z.array(RecommendedAction).max(20).default([]),
});
/** The alert scorer's verdict. */
export type TriageVerdict = z.infer<typeof TriageVerdict>;

/**
 * `agent:alert-scorer`: reads the normalized alert and its enrichment, may look up more context, and
 * answers a verdict with confidence and recommended containment. It has no containment tools: what it
 * recommends is data that the playbook runs through policy (and humans) — never something it does.
 */
export const alertScorer: AgentDefinition = {
  name: 'alert-scorer',
  description: 'Scores a security alert from its indicators, enrichment and asset context',
  instructions: [
    'You are a SOC analyst triaging one security alert.',
    'Use the enrichment you are given; call intel_lookup or asset_lookup only for entities not yet enriched.',
    'Decide a verdict: benign (false positive or expected activity), suspicious (needs a human), or malicious (clear evidence).',
    'Give a confidence between 0 and 1 that reflects the evidence, and a short rationale citing it.',
    'Recommend containment only for entities that appear in the alert: isolate_host (host name), disable_user (user name),',
    'block_indicator (an IP, domain or hash); recommend none for benign alerts.',
  ].join(' '),
  allowedTools: ['intel_lookup', 'asset_lookup'],
  output: TriageVerdict,
  budgets: { maxTurns: 6, maxToolCalls: 8 },
};
