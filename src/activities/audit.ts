import { wardenMetrics } from '../telemetry/metrics';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { ZodError } from 'zod';
import type { AppendInput, AuditLedger } from '../audit';
import { AuditKeyConflictError } from '../audit';
import { FailureType } from '../errors';
import { formatIssues } from '../governance/issues';
import type { Logger } from '../telemetry/logger';

/** One record as workflow code builds it (its idempotency key derived from run id + record index). */
export type AuditEntry = AppendInput;

function refuse(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: FailureType.ValidationError, nonRetryable: true, message });
}

/** A caller-supplied value for a message or a record: a string, cut short (it may be hostile). */
function shown(v: unknown): string {
  const s = typeof v === 'string' ? v : String(v);
  return s.length > 120 ? `${s.slice(0, 120)}…` : s;
}

/**
 * Why a record may not be appended by this run, or undefined. A run writes only its own records (its
 * workflow id and run id) under its own keys (`<runId>/…`), so it can neither forge another run's
 * trail nor take a key another run will need (which would make that run's append fail).
 */
function foreignRecordProblem(
  r: AuditEntry | undefined,
  run: { workflowId: string; runId: string },
): string | undefined {
  if (r?.workflowId !== run.workflowId || r?.runId !== run.runId) {
    return `audit record ${shown(r?.idempotencyKey)} names workflow ${shown(r?.workflowId)} run ${shown(r?.runId)}`;
  }
  if (typeof r.idempotencyKey !== 'string' || !r.idempotencyKey.startsWith(`${run.runId}/`)) {
    return `audit record key ${shown(r.idempotencyKey)} does not start with the run id`;
  }
  return undefined;
}

/** Builds the audit activity: appends records to the ledger, exactly once per idempotency key. */
export function createAuditActivities(deps: { ledger: AuditLedger; logger: Logger }) {
  return {
    /**
     * Appends the calling run's records in order and returns once they are durable. A retried call
     * (activity retry, worker crash) re-sends the same keys and gets the same records back: never a
     * duplicate, never a gap. `seqs[i]` is record i's sequence number, or null while it waits for the
     * PostgreSQL sealer (it is sealed exactly once, moments later).
     *
     * A run can only write its own records: the caller is the workflow execution Temporal names in the
     * activity context (never anything in the input), and each record's workflowId, runId and key
     * prefix must be its own, so no workflow (or anyone who can start one) can forge another run's
     * trail. A refusal appends nothing of the batch, is logged and recorded in the caller's own trail
     * (`audit.refused`), and fails at once (ValidationError, not retried), as do invalid records;
     * database errors are retried.
     */
    async appendAudit(input: { records: AuditEntry[] }): Promise<{ seqs: (number | null)[] }> {
      const { workflowExecution: run, activityId, workflowType } = Context.current().info;
      if (!run) throw refuse('appendAudit runs only as an activity of a workflow (nothing was written)');
      const records: AuditEntry[] = Array.isArray(input?.records) ? input.records : [];
      const problem = records.map((r) => foreignRecordProblem(r, run)).find((p) => p !== undefined);
      if (problem) {
        const log = deps.logger.child({ workflowId: run.workflowId, runId: run.runId, activityId });
        log.warn({ reason: problem, workflowType }, 'audit append refused: records of another run');
        await deps.ledger
          .append({
            idempotencyKey: `${run.runId}/${activityId}/audit.refused`,
            workflowId: run.workflowId,
            runId: run.runId,
            type: 'audit.refused',
            actor: { kind: 'system', id: 'warden-worker' },
            data: { reason: problem, workflowType: shown(workflowType), records: records.length },
          })
          .catch((e: unknown) => log.error({ err: (e as Error).message }, 'could not audit a refused audit append'));
        throw refuse(
          `${problem}, but was sent by workflow ${run.workflowId} run ${run.runId}; a run may only append its own records (nothing was written)`,
        );
      }
      try {
        const started = performance.now();
        const receipts = await deps.ledger.appendMany(records);
        wardenMetrics().observeAudit(records, (performance.now() - started) / 1000);
        return { seqs: receipts.map((x) => x.record?.seq ?? null) };
      } catch (err) {
        if (err instanceof ZodError || err instanceof RangeError || err instanceof AuditKeyConflictError) {
          const why = err instanceof ZodError ? formatIssues(err, 'record') : err.message;
          throw refuse(`audit records rejected, nothing was written (a Warden defect): ${why}`);
        }
        throw err;
      }
    },
  };
}
