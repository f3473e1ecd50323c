import type { RiskBand, RiskResult } from './risk';
import { RISK_BANDS } from './risk';

/*
 * The combination rule: deterministic facts (risk) and a model's verdict decide together whether a triage
 * outcome may proceed automatically. A model can only ever add reasons for a human; no answer it gives
 * removes one. Pure and workflow-safe.
 */

/** The agent's verdict as the combination rule reads it (the `TriageVerdict` fields it needs). */
export interface AgentVerdict {
  verdict: 'benign' | 'suspicious' | 'malicious';
  confidence: number;
  rationale: string;
}

/** Why a verdict goes to a human. */
export type HumanReason =
  | 'malformed_verdict'
  | 'low_confidence'
  | 'confidence_outside_verdict'
  | 'rationale_contradicts_verdict'
  | 'suspicious_needs_human'
  | 'band_disagreement'
  | 'benign_on_high_risk'
  | 'benign_with_intel_hit'
  | 'benign_on_canary';

/** The routing decision: `auto` only when no reason for a human was found. */
export interface RoutingDecision {
  route: 'auto' | 'human';
  reasons: Array<{ code: HumanReason; detail: string }>;
}

/** Options of {@link routeVerdict}. */
export interface RoutingOptions {
  /** Verdicts below this confidence go to a human. @default 0.7 */
  confidenceThreshold?: number;
  /**
   * The confidence each verdict allows: a "benign" or "malicious" the model itself rates below even odds
   * contradicts itself. @default { benign: [0.5, 1], suspicious: [0, 1], malicious: [0.5, 1] }
   */
  confidenceRange?: Partial<Record<AgentVerdict['verdict'], [number, number]>>;
}

const NEGATION =
  /\b(?:no|not|never|without|nothing|neither|nor|non|lack(?:s|ing)?|absence|free of|rule[sd]? out|isn't|wasn't|aren't|unlikely|false)\b[^.;!?]{0,40}$/i;
/** Words that, unnegated, say an alert is bad. */
const BAD_WORDS =
  /\b(?:malicious|malware|compromi[sz]ed?|compromise|exfiltrat\w*|attacker|intrusion|breach(?:ed)?|ransomware|backdoor|c2|command and control|lateral movement|credential theft|stolen credentials?|exploit(?:ed|ation)?|persistence established)\b/gi;
/** Words that, unnegated, say an alert is harmless. */
const BENIGN_WORDS =
  /\b(?:benign|false positive|harmless|expected (?:activity|behaviou?r)|legitimate|authorized (?:test|activity)|no action (?:needed|required))\b/gi;

function unnegatedHits(text: string, words: RegExp): string[] {
  const hits: string[] = [];
  for (const m of text.matchAll(words)) {
    const before = text.slice(Math.max(0, m.index - 60), m.index);
    if (!NEGATION.test(before)) hits.push(m[0].toLowerCase());
  }
  return [...new Set(hits)];
}

function bandRank(band: RiskBand): number {
  return RISK_BANDS.indexOf(band);
}

/**
 * Decides whether a verdict may be acted on automatically (`auto`) or needs a human, with every reason:
 * a malformed verdict; confidence below the threshold or outside the verdict's range; a rationale that
 * contradicts the verdict (a "benign" whose rationale says malicious/compromised/exfiltration, unnegated,
 * or a "malicious" whose rationale says benign/false positive); a "suspicious" verdict (by the agent's
 * contract it asks for a human); disagreement between the verdict and the risk band (benign on high or
 * critical, malicious on low); a benign verdict on an alert with an intel hit or a canary signal.
 * So a hostile model's "benign 0.99" on a critical, canary or intel-hit alert always reaches a human.
 */
export function routeVerdict(
  risk: RiskResult,
  verdict: AgentVerdict | undefined,
  options: RoutingOptions = {},
): RoutingDecision {
  const reasons: RoutingDecision['reasons'] = [];
  const threshold = options.confidenceThreshold ?? 0.7;
  const ranges: Record<AgentVerdict['verdict'], [number, number]> = {
    benign: [0.5, 1],
    suspicious: [0, 1],
    malicious: [0.5, 1],
    ...options.confidenceRange,
  };
  const v = verdict?.verdict;
  const confidence = verdict?.confidence;
  if (
    !verdict ||
    (v !== 'benign' && v !== 'suspicious' && v !== 'malicious') ||
    typeof confidence !== 'number' ||
    !Number.isFinite(confidence) ||
    confidence < 0 ||
    confidence > 1 ||
    typeof verdict.rationale !== 'string' ||
    verdict.rationale.trim() === ''
  ) {
    reasons.push({
      code: 'malformed_verdict',
      detail: 'the verdict is missing a valid verdict, confidence in [0, 1] or rationale',
    });
    return { route: 'human', reasons };
  }
  if (confidence < threshold)
    reasons.push({ code: 'low_confidence', detail: `confidence ${confidence} is below the threshold ${threshold}` });
  const [min, max] = ranges[v];
  if (confidence < min || confidence > max)
    reasons.push({
      code: 'confidence_outside_verdict',
      detail: `a ${v} verdict allows confidence ${min}-${max}, got ${confidence}`,
    });
  const rationale = verdict.rationale;
  if (v === 'benign') {
    const bad = unnegatedHits(rationale, BAD_WORDS);
    if (bad.length > 0)
      reasons.push({
        code: 'rationale_contradicts_verdict',
        detail: `benign verdict, but the rationale says: ${bad.join(', ')}`,
      });
  } else if (v === 'malicious') {
    const benign = unnegatedHits(rationale, BENIGN_WORDS);
    if (benign.length > 0)
      reasons.push({
        code: 'rationale_contradicts_verdict',
        detail: `malicious verdict, but the rationale says: ${benign.join(', ')}`,
      });
  } else {
    reasons.push({ code: 'suspicious_needs_human', detail: 'a suspicious verdict asks for a human by definition' });
  }
  const rank = bandRank(risk.band);
  if (v === 'benign' && rank >= bandRank('high'))
    reasons.push({
      code: 'benign_on_high_risk',
      detail: `benign verdict on a ${risk.band}-risk alert (score ${risk.score})`,
    });
  if (v === 'malicious' && rank <= bandRank('low'))
    reasons.push({ code: 'band_disagreement', detail: `malicious verdict on a low-risk alert (score ${risk.score})` });
  const has = (factor: string) => risk.factors.some((f) => f.factor === factor);
  if (v === 'benign' && (has('intel_malicious') || has('intel_suspicious')))
    reasons.push({
      code: 'benign_with_intel_hit',
      detail: 'benign verdict, but threat intel lists an indicator of this alert',
    });
  if (v === 'benign' && has('canary'))
    reasons.push({ code: 'benign_on_canary', detail: 'benign verdict on an alert that touched a canary or decoy' });
  return { route: reasons.length > 0 ? 'human' : 'auto', reasons };
}
