import type { Assessment } from '../scoring/assess-tool';
import { NarratorOutput } from './agent';

/** A narrative as recorded: marked drafted, attributed to the agent, never a decision. */
export interface RecordedNarrative {
  framework: string;
  controlId: string;
  narrative: string;
  evidenceIds: string[];
  suggestion: string;
  origin: 'drafted';
  author: string;
  decision: false;
}

/** What validation kept and why it dropped the rest. */
export interface NarrativeValidation {
  narratives: RecordedNarrative[];
  rejected: string[];
}

/**
 * Validates the narrator's output against the run's own assessment: narratives only for controls that
 * needed judgement or attestation, citing only evidence ids of this run; anything else is dropped with a
 * note. Whatever the model wrote, the result is a draft: statuses are untouched.
 */
export function validateNarratives(
  raw: unknown,
  assessment: Assessment,
  author = 'agent:compliance-narrator',
): NarrativeValidation {
  const rejected: string[] = [];
  if (raw === undefined || raw === null) return { narratives: [], rejected };
  if (typeof raw === 'object' && 'error' in raw) {
    rejected.push('the narrator did not answer (its step failed); no drafts');
    return { narratives: [], rejected };
  }
  const parsed = NarratorOutput.safeParse(raw);
  if (!parsed.success)
    return { narratives: [], rejected: [`narrator output is not valid: ${parsed.error.issues[0]?.message ?? ''}`] };
  const eligible = new Set(
    assessment.controls
      .filter((c) => c.status === 'partial' || c.status === 'needs-human')
      .map((c) => `${c.framework}\u0000${c.controlId}`),
  );
  const seen = new Set<string>();
  const narratives: RecordedNarrative[] = [];
  for (const n of parsed.data.narratives) {
    const key = `${n.framework}\u0000${n.controlId}`;
    if (!eligible.has(key)) {
      rejected.push(`${n.framework} ${n.controlId}: not a control that needs judgement; dropped`);
      continue;
    }
    if (seen.has(key)) {
      rejected.push(`${n.framework} ${n.controlId}: a second narrative; dropped`);
      continue;
    }
    seen.add(key);
    const unknown = n.evidenceIds.filter((id) => !assessment.evidence[id]);
    if (unknown.length)
      rejected.push(`${n.framework} ${n.controlId}: cites unknown evidence ${unknown.join(', ')}; those ids removed`);
    narratives.push({
      framework: n.framework,
      controlId: n.controlId,
      narrative: n.narrative,
      evidenceIds: n.evidenceIds.filter((id) => assessment.evidence[id]),
      suggestion: n.suggestion,
      origin: 'drafted',
      author,
      decision: false,
    });
  }
  return { narratives, rejected };
}
