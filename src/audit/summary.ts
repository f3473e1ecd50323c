import type { AuditRecord } from './record';

/** Whether the recorded action succeeded, as SIEM mappings need it. */
export type AuditOutcome = 'success' | 'failure' | 'unknown';

const FAILURE_TYPES: ReadonlySet<string> = new Set([
  'run.failed',
  'tool.failed',
  'approval.refused',
  'approval.timed_out',
  'lease.refused',
]);

/**
 * The outcome of a record: `data.outcome` when the writer set it, else failure for refusals, denials,
 * timeouts and failures (`*.failed`, `approval.refused|timed_out`, `lease.refused`, a `deny` policy
 * decision, any `data.error`), else success.
 */
export function recordOutcome(r: Pick<AuditRecord, 'type' | 'data'>): AuditOutcome {
  const given = r.data.outcome;
  if (given === 'success' || given === 'failure' || given === 'unknown') return given;
  if (FAILURE_TYPES.has(r.type) || r.type.endsWith('.failed')) return 'failure';
  if (r.type === 'policy.decision') return r.data.decision === 'deny' ? 'failure' : 'success';
  if (r.data.error !== undefined && r.data.error !== null) return 'failure';
  return 'success';
}

// Keys worth a glance, in the order a reader wants them; anything else stays in the full record.
const SUMMARY_KEYS = [
  'decision',
  'tool',
  'step',
  'stepId',
  'tier',
  'approvalId',
  'approver',
  'by',
  'engaged',
  'action',
  'model',
  'status',
  'reason',
  'error',
  'trigger',
  'initiator',
];

function scalar(v: unknown): string | undefined {
  if (typeof v === 'string') return v.length > 60 ? `${v.slice(0, 57)}...` : v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

/**
 * One readable line for a record, built from well-known `data` keys (decision, tool, tier, approver,
 * reason, ...), at most ~160 characters. For timelines and SIEM `message` fields; never the evidence.
 */
export function summarizeRecord(r: Pick<AuditRecord, 'type' | 'data'>): string {
  const parts: string[] = [];
  for (const key of SUMMARY_KEYS) {
    const v = scalar(r.data[key]);
    if (v !== undefined && v !== '') parts.push(key === 'decision' || key === 'tool' ? v : `${key}=${v}`);
  }
  const line = parts.join(' ');
  return line.length > 160 ? `${line.slice(0, 157)}...` : line;
}
