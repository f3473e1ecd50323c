import { ApplicationFailure, Context } from '@temporalio/activity';
import { ZodError } from 'zod';
import type { AppendInput, AuditLedger } from '../audit';
import { AuditKeyConflictError } from '../audit';
import { FailureType } from '../errors';
import { formatIssues } from '../governance/issues';

/** One record as workflow code builds it (its idempotency key derived from run id + record index). */
export type AuditEntry = AppendInput;

function refuse(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: FailureType.ValidationError, nonRetryable: true, message });
}

/** Builds the audit activity: appends records to the ledger, exactly once per idempotency key. */
export function createAuditActivities(deps: { ledger: AuditLedger }) {
  return {
    /**
     * Appends the calling run's records in order and returns once they are durable. A retried call
     * (activity retry, worker crash) re-sends the same keys and gets the same records back: never a
     * duplicate, never a gap. `seqs[i]` is record i's sequence number, or null while it waits for the
     * PostgreSQL sealer (it is sealed exactly once, moments later).
     *
     * A run can only write its own records: each record's workflowId and runId must be the calling
     * workflow execution's, so no workflow (or anyone who can start one) can forge another run's trail.
     * Refusals and invalid records fail at once (ValidationError, not retried) and append nothing;
     * database errors are retried.
     */
    async appendAudit(input: { records: AuditEntry[] }): Promise<{ seqs: (number | null)[] }> {
      const execution = Context.current().info.workflowExecution;
      if (!execution) throw refuse('appendAudit runs only as an activity of a workflow (nothing was written)');
      const { workflowId, runId } = execution;
      const records = Array.isArray(input?.records) ? input.records : [];
      for (const r of records) {
        if (r?.workflowId !== workflowId || r?.runId !== runId) {
          throw refuse(
            `audit record ${String(r?.idempotencyKey)} refused: it names workflow ${String(r?.workflowId)} run ${String(r?.runId)}, ` +
              `but was sent by workflow ${workflowId} run ${runId}; a run may only append its own records (nothing was written)`,
          );
        }
      }
      try {
        const receipts = await deps.ledger.appendMany(records);
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
