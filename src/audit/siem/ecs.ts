import { WARDEN_VERSION } from '../../version';
import type { AuditRecord } from '../record';
import { recordOutcome, summarizeRecord } from '../summary';

/** The ECS version the mapping targets. */
export const ECS_VERSION = '8.11.0';

/** An Elastic Common Schema document (the fields Warden fills) plus Warden's own `warden.*` fields. */
export interface EcsEvent {
  '@timestamp': string;
  ecs: { version: string };
  message: string;
  event: {
    kind: 'event';
    category: string[];
    type: string[];
    action: string;
    outcome: 'success' | 'failure' | 'unknown';
    id: string;
    sequence: number;
    dataset: 'warden.audit';
    module: 'warden';
    provider: 'warden';
    reason?: string;
  };
  user?: { id: string; name: string };
  service: { name: 'warden'; type: 'warden'; version: string };
  labels: Record<string, string>;
  trace?: { id: string };
  span?: { id: string };
  warden: Record<string, unknown>;
}

function categorize(r: AuditRecord): { category: string[]; type: string[] } {
  const outcome = recordOutcome(r);
  switch (r.type) {
    case 'run.started':
      return { category: ['process'], type: ['start'] };
    case 'run.completed':
    case 'run.failed':
      return { category: ['process'], type: ['end'] };
    case 'policy.decision':
    case 'lease.issued':
    case 'lease.refused':
      return {
        category: ['iam'],
        type: [outcome === 'failure' ? 'denied' : r.type === 'lease.issued' ? 'access' : 'allowed'],
      };
    case 'approval.requested':
      return { category: ['iam'], type: ['info'] };
    case 'approval.granted':
      return { category: ['iam'], type: ['allowed'] };
    case 'approval.refused':
    case 'approval.timed_out':
      return { category: ['iam'], type: ['denied'] };
    case 'approval.escalated':
      return { category: ['iam'], type: ['change'] };
    case 'kill_switch.changed':
      return { category: ['configuration'], type: ['change'] };
    case 'interrupt':
      return { category: ['process'], type: ['change'] };
    case 'tool.executed':
      return {
        category: ['process'],
        type: [r.data.risk === 'read' ? 'access' : r.data.risk === 'destructive' ? 'deletion' : 'change'],
      };
    case 'tool.failed':
      return { category: ['process'], type: ['error'] };
    default:
      return { category: ['process'], type: ['info'] };
  }
}

/**
 * Maps a record to an ECS document. The actor is `user.*` (people and agent identities alike, with
 * `labels.actor_kind` telling which); ECS's own `agent.*` means the shipping agent, so it is not used.
 * `warden.seq` and `warden.leaf_hash` carry the ledger position; `warden.data` the full evidence.
 */
export function toEcs(r: AuditRecord): EcsEvent {
  const { category, type } = categorize(r);
  const summary = summarizeRecord(r);
  const reason = typeof r.data.reason === 'string' ? r.data.reason : undefined;
  return {
    '@timestamp': r.ts,
    ecs: { version: ECS_VERSION },
    message: summary ? `${r.type}: ${summary}` : r.type,
    event: {
      kind: 'event',
      category,
      type,
      action: r.type,
      outcome: recordOutcome(r),
      id: r.idempotencyKey,
      sequence: r.seq,
      dataset: 'warden.audit',
      module: 'warden',
      provider: 'warden',
      ...(reason !== undefined ? { reason } : {}),
    },
    ...(r.actor.kind !== 'system' ? { user: { id: r.actor.id, name: r.actor.id } } : {}),
    service: { name: 'warden', type: 'warden', version: WARDEN_VERSION },
    labels: {
      actor_kind: r.actor.kind,
      actor_id: r.actor.id,
      workflow_id: r.workflowId,
      ...(r.runId !== undefined ? { run_id: r.runId } : {}),
    },
    ...(r.traceId !== undefined ? { trace: { id: r.traceId } } : {}),
    ...(r.spanId !== undefined ? { span: { id: r.spanId } } : {}),
    warden: {
      seq: r.seq,
      leaf_hash: r.leafHash,
      prev_hash: r.prevHash,
      type: r.type,
      workflow_id: r.workflowId,
      ...(r.runId !== undefined ? { run_id: r.runId } : {}),
      data: r.data,
    },
  };
}
