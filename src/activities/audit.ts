import { ApplicationFailure } from '@temporalio/activity';
import { ZodError } from 'zod';
import type { AppendInput, AuditLedger } from '../audit';
import { AuditKeyConflictError } from '../audit';
import { FailureType } from '../errors';

/** One record as workflow code builds it (its idempotency key derived from run id + record index). */
export type AuditEntry = AppendInput;

/** Builds the audit activity: appends records to the ledger, exactly once per idempotency key. */
export function createAuditActivities(deps: { ledger: AuditLedger }) {
  return {
    /**
     * Appends records in order. A retried call (activity retry, worker crash) re-sends the same keys and
     * gets the same records back: never a duplicate, never a gap. Invalid records fail at once (a Warden
     * defect); a database error is retried.
     */
    async appendAudit(input: { records: AuditEntry[] }): Promise<{ seqs: number[] }> {
      const seqs: number[] = [];
      for (const r of input.records) {
        try {
          seqs.push((await deps.ledger.append(r)).seq);
        } catch (err) {
          if (err instanceof ZodError || err instanceof RangeError || err instanceof AuditKeyConflictError) {
            throw ApplicationFailure.create({
              type: FailureType.ValidationError,
              nonRetryable: true,
              message: `audit record ${r.idempotencyKey} rejected (a Warden defect): ${(err as Error).message}`,
            });
          }
          throw err;
        }
      }
      return { seqs };
    },
  };
}
