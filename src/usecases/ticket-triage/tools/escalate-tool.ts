import { z } from 'zod';
import { defineTool } from '../../../tools/types';
import { TicketSystem } from '../ticket';
import type { TicketToolDeps } from './deps';
import { itsmCapabilities } from './deps';
import { WriteOutput } from './ticket-tools';

const J = z.unknown();
/** Fields rendered from earlier steps: any of them may be null (a step that failed or did not run). */
const Fields = z.record(z.string(), z.unknown()).nullish();
const Rows = z.array(z.record(z.string(), z.unknown())).max(10).nullish();

/**
 * The case an escalation carries: everything the next human needs, gathered by the run. Lenient on purpose:
 * an escalation must go out even when classification or routing failed, so missing parts render as "-".
 */
export const EscalationCase = z.object({
  summary: z.string().max(2000).nullish(),
  /** category, priority, language, confidence */
  classification: Fields,
  /** plan, reasons, lowConfidence */
  route: Fields,
  /** name, email, verified, reason */
  requester: Fields,
  directory: J.optional(),
  /** subject, description, channel */
  evidence: Fields,
  suggestedReply: z.string().max(4000).nullish(),
  /** path, title, score */
  knowledge: Rows,
  /** number, subject, status */
  similar: Rows,
  review: J.optional(),
  attempted: J.optional(),
  /** What went wrong on the way (a classification that failed, a refused action). */
  problems: z.array(z.string().max(2000)).max(10).nullish(),
  run: z.string().max(300).nullish(),
});
/** The case an escalation carries. */
export type EscalationCase = z.infer<typeof EscalationCase>;

const line = (v: unknown) =>
  v === null || v === undefined || v === '' ? '-' : typeof v === 'string' ? v : JSON.stringify(v);

/** Renders the case as a plain-text internal note (readable in ServiceNow work notes and Jira comments). */
export function renderCaseNote(queue: string, c: EscalationCase): string {
  const cl = c.classification ?? {};
  const rq = c.requester ?? {};
  const reasons = Array.isArray(c.route?.reasons) ? (c.route.reasons as unknown[]).map(line) : [];
  const out = [
    `Warden ticket triage: escalated to ${queue}`,
    '',
    `Summary: ${line(c.summary)}`,
    `Classification: ${line(cl.category)} (confidence ${line(cl.confidence)}), priority ${line(cl.priority)}, language ${line(cl.language)}`,
    `Why escalated: ${reasons.join('; ') || '-'}`,
    `Requester: ${line(rq.name)} <${line(rq.email)}>, ${rq.verified === true ? 'verified by the ticket system' : `not verified (${line(rq.reason)})`}`,
    `Directory: ${line(c.directory)}`,
    '',
    'Evidence:',
    `  Subject: ${line(c.evidence?.subject)}`,
    `  Channel: ${line(c.evidence?.channel)}`,
    `  Description: ${line(c.evidence?.description).slice(0, 1500)}`,
    '',
    'Suggested reply (not sent):',
    ...line(c.suggestedReply)
      .split('\n')
      .map((l) => `  ${l}`),
    '',
    'Knowledge articles:',
    ...((c.knowledge ?? []).length
      ? (c.knowledge ?? []).map((k) => `  - ${line(k.title)} (${line(k.path)}), score ${line(k.score)}`)
      : ['  - none found']),
    'Similar tickets:',
    ...((c.similar ?? []).length
      ? (c.similar ?? []).map((s) => `  - ${line(s.number)} [${line(s.status)}] ${line(s.subject)}`)
      : ['  - none']),
  ];
  if (c.review !== undefined && c.review !== null) out.push(`Human triage: ${line(c.review)}`);
  if (c.attempted !== undefined && c.attempted !== null) out.push(`Attempted: ${line(c.attempted)}`);
  for (const p of c.problems ?? []) out.push(`Problem: ${p}`);
  if (c.run) out.push('', `Run: ${c.run}`);
  return out.join('\n').slice(0, 28_000);
}

/**
 * `ticket_escalate` (write): writes the case as an internal note and routes the ticket to its queue, both
 * idempotent (the note carries the call's reference and is skipped when already there; assignment sets state).
 */
export function createEscalateTool(deps: TicketToolDeps) {
  return defineTool({
    name: 'ticket_escalate',
    description:
      'Escalates a ticket: an internal note with the case (summary, classification with confidence, evidence, ' +
      'suggested reply, knowledge, similar tickets) and the assignment to the queue.',
    input: z.object({
      system: TicketSystem,
      id: z
        .string()
        .trim()
        .min(1)
        .max(100)
        .regex(/^[A-Za-z0-9._-]+$/),
      number: z
        .string()
        .trim()
        .min(1)
        .max(100)
        .regex(/^[A-Za-z0-9._-]+$/),
      queue: z.string().trim().min(1).max(100).nullish().describe('Unset: WARDEN_TICKETS_DEFAULT_QUEUE.'),
      case: EscalationCase,
    }),
    output: z.object({ queue: z.string(), note: WriteOutput, assignment: WriteOutput, caseText: z.string() }),
    risk: 'write',
    capabilities: itsmCapabilities('write'),
    rateLimitClass: 'itsm',
    integration: 'itsm',
    summarize: (a) => `${a.system}: escalate ${a.number} to ${a.queue ?? deps.options.defaultQueue}`,
    async execute(a, ctx) {
      const queue = a.queue ?? deps.options.defaultQueue;
      const connector = deps.connector(a.system);
      const caseText = renderCaseNote(queue, a.case);
      const note = await connector.comment(ctx, a, caseText, 'internal');
      const assignment = await connector.assign(ctx, a, { queue });
      return { queue, note, assignment, caseText };
    },
  });
}
