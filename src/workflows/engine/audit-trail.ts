import { trace } from '@opentelemetry/api';
import { proxyActivities, proxyLocalActivities, workflowInfo } from '@temporalio/workflow';
import type { ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { AuditEntry } from '../../activities/audit';
import { AUDIT_LEDGER_PATCH, isPatched } from './patches';

const appendOptions: ActivityOptions = {
  summary: 'audit: append records',
  startToCloseTimeout: '1 minute',
  // A decision that cannot be recorded must not be forgotten: keep retrying while the ledger is down.
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', nonRetryableErrorTypes: ['ValidationError'] },
};
const { appendAudit } = proxyActivities<Activities>(appendOptions);
/** The same append in the worker running the workflow task (LOCAL_AUDIT_FLUSH_PATCH). */
const { appendAudit: appendAuditHere } = proxyLocalActivities<Activities>(appendOptions);

/** JSON values only (the ledger's data type). */
type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

function toJson(v: unknown): Json {
  return v === undefined ? null : (JSON.parse(JSON.stringify(v)) as Json);
}

/**
 * The run's side of the audit ledger: records are buffered in workflow state with idempotency keys
 * derived from the run id and a record index (never an attempt number), and flushed through an activity
 * (or a local activity) at safe points, so a retried or replayed flush appends each record exactly once.
 */
export class AuditTrail {
  private readonly buffer: AuditEntry[] = [];
  private index = 0;
  private readonly enabled: boolean;
  /** Workflow time the oldest buffered record was added. */
  private oldestAt = 0;

  /** `local`: flush through a local activity (runs of LOCAL_AUDIT_FLUSH_PATCH) instead of an activity. */
  constructor(
    private readonly workflowId: string,
    private readonly local = false,
  ) {
    // Runs recorded before the ledger existed replay without audit activities.
    this.enabled = isPatched(AUDIT_LEDGER_PATCH);
  }

  /** True when records are waiting to be flushed. */
  get pending(): boolean {
    return this.buffer.length > 0;
  }

  /** Buffers one record; `data` holds digests and reasons, never secrets or large payloads. */
  add(type: string, actor: { kind: 'system' | 'agent' | 'human'; id: string }, data: Record<string, unknown>): void {
    if (!this.enabled) return;
    if (!this.buffer.length) this.oldestAt = Date.now();
    const span = trace.getActiveSpan()?.spanContext();
    const valid = span && /^[0-9a-f]{32}$/.test(span.traceId) && span.traceId !== '0'.repeat(32);
    this.buffer.push({
      idempotencyKey: `${workflowInfo().runId}/audit/${this.index++}`,
      workflowId: this.workflowId,
      runId: workflowInfo().runId,
      type,
      actor,
      data: toJson(data) as Record<string, Json>,
      ts: new Date().toISOString(),
      ...(valid ? { traceId: span.traceId, spanId: span.spanId } : {}),
    });
  }

  /**
   * True when a flush is due: `maxRecords` records are buffered, or the oldest has waited `maxAgeMs` of
   * workflow time (which moves with each workflow task, so a step that took a while makes it due).
   */
  due(maxRecords: number, maxAgeMs: number): boolean {
    return this.buffer.length >= maxRecords || (this.buffer.length > 0 && Date.now() - this.oldestAt >= maxAgeMs);
  }

  /**
   * Appends everything buffered (one activity). A flush that fails — typically one started in a scope a
   * cancel has just cancelled, which would carry the cancel's own `interrupt` record — puts its records
   * back, so the run's final (non-cancellable) flush appends them; their keys keep that exactly-once.
   */
  async flush(): Promise<void> {
    if (!this.enabled || !this.buffer.length) return;
    const records = this.buffer.splice(0, this.buffer.length);
    try {
      await (this.local ? appendAuditHere : appendAudit)({ records });
    } catch (err) {
      this.buffer.unshift(...records);
      throw err;
    }
  }
}

/** The audit actor for a decision's actor string (`agent:<name>` or `system`). */
export function actorOf(id: string): { kind: 'system' | 'agent' | 'human'; id: string } {
  return id.startsWith('agent:') ? { kind: 'agent', id } : { kind: 'system', id: id === 'system' ? 'warden' : id };
}
