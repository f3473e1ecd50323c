import { WARDEN_VERSION } from '../../version';
import type { AuditRecord } from '../record';
import { recordOutcome, summarizeRecord } from '../summary';

/** The OCSF schema version the mapping targets. */
export const OCSF_SCHEMA_VERSION = '1.3.0';
/** OCSF API Activity class. */
export const OCSF_API_ACTIVITY_CLASS_UID = 6003;
/** OCSF Application Activity category. */
export const OCSF_APPLICATION_ACTIVITY_CATEGORY_UID = 6;

/** OCSF API Activity `activity_id` values. */
export const OcsfActivity = { Unknown: 0, Create: 1, Read: 2, Update: 3, Delete: 4, Other: 99 } as const;
type OcsfActivityName = keyof typeof OcsfActivity;

/** An OCSF API Activity event (the attributes Warden fills). */
export interface OcsfApiActivity {
  class_uid: 6003;
  class_name: 'API Activity';
  category_uid: 6;
  category_name: 'Application Activity';
  activity_id: number;
  activity_name: string;
  type_uid: number;
  type_name: string;
  time: number;
  severity_id: number;
  severity: string;
  status_id: number;
  status: string;
  message: string;
  actor: { user: { uid: string; name: string; type_id: number; type: string }; app_name: string };
  api: { operation: string; service: { name: string }; request: { uid: string } };
  src_endpoint: { name: string };
  resources: { type: string; uid: string; name: string }[];
  metadata: {
    version: string;
    product: { name: 'Warden'; vendor_name: 'Warden'; version: string };
    uid: string;
    correlation_uid: string;
    sequence: number;
    event_code: string;
    log_name: string;
    original_time: string;
  };
  unmapped: { warden: Record<string, unknown> };
}

function activityOf(r: AuditRecord): OcsfActivityName {
  switch (r.type) {
    case 'run.started':
    case 'approval.requested':
    case 'lease.issued':
      return 'Create';
    case 'kill_switch.changed':
    case 'interrupt':
    case 'approval.escalated':
      return 'Update';
    case 'tool.executed':
    case 'tool.failed':
      // The tool's risk says what it did to the outside world.
      return r.data.risk === 'read'
        ? 'Read'
        : r.data.risk === 'write'
          ? 'Update'
          : r.data.risk === 'destructive'
            ? 'Delete'
            : 'Other';
    default:
      return 'Other';
  }
}

const USER_TYPES = {
  human: { type_id: 1, type: 'User' },
  system: { type_id: 3, type: 'System' },
  agent: { type_id: 99, type: 'Agent' },
} as const;

/**
 * Maps a record to an OCSF API Activity (class 6003) event. `metadata.sequence` and
 * `unmapped.warden.{seq,leaf_hash,prev_hash}` carry the ledger position, so a SIEM copy can be
 * checked against the ledger; the full `data` travels in `unmapped.warden.data`.
 */
export function toOcsf(r: AuditRecord): OcsfApiActivity {
  const activity = activityOf(r);
  const activityId = OcsfActivity[activity];
  const outcome = recordOutcome(r);
  const severity =
    r.type === 'kill_switch.changed'
      ? ([4, 'High'] as const)
      : outcome === 'failure'
        ? ([3, 'Medium'] as const)
        : ([1, 'Informational'] as const);
  const status =
    outcome === 'success'
      ? ([1, 'Success'] as const)
      : outcome === 'failure'
        ? ([2, 'Failure'] as const)
        : ([0, 'Unknown'] as const);
  const summary = summarizeRecord(r);
  return {
    class_uid: 6003,
    class_name: 'API Activity',
    category_uid: 6,
    category_name: 'Application Activity',
    activity_id: activityId,
    activity_name: activity === 'Other' ? r.type : activity,
    type_uid: OCSF_API_ACTIVITY_CLASS_UID * 100 + activityId,
    type_name: `API Activity: ${activity === 'Other' ? 'Other' : activity}`,
    time: Date.parse(r.ts),
    severity_id: severity[0],
    severity: severity[1],
    status_id: status[0],
    status: status[1],
    message: summary ? `${r.type}: ${summary}` : r.type,
    actor: { user: { uid: r.actor.id, name: r.actor.id, ...USER_TYPES[r.actor.kind] }, app_name: 'Warden' },
    api: { operation: r.type, service: { name: 'Warden' }, request: { uid: r.idempotencyKey } },
    src_endpoint: { name: 'warden' },
    resources: [{ type: 'Temporal Workflow', uid: r.workflowId, name: r.workflowId }],
    metadata: {
      version: OCSF_SCHEMA_VERSION,
      product: { name: 'Warden', vendor_name: 'Warden', version: WARDEN_VERSION },
      uid: r.leafHash,
      correlation_uid: r.workflowId,
      sequence: r.seq,
      event_code: r.type,
      log_name: 'warden-audit',
      original_time: r.ts,
    },
    unmapped: {
      warden: {
        seq: r.seq,
        leaf_hash: r.leafHash,
        prev_hash: r.prevHash,
        idempotency_key: r.idempotencyKey,
        workflow_id: r.workflowId,
        ...(r.runId !== undefined ? { run_id: r.runId } : {}),
        actor_kind: r.actor.kind,
        ...(r.traceId !== undefined ? { trace_id: r.traceId } : {}),
        ...(r.spanId !== undefined ? { span_id: r.spanId } : {}),
        data: r.data,
      },
    },
  };
}
