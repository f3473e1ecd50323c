import { SearchAttributeType, defineSearchAttributeKey } from '@temporalio/common';
import type { WorkflowInfo } from '@temporalio/workflow';
import { THRESHOLD_ENTITY_PREFIX, THRESHOLD_RUN_PREFIX } from './threshold-contract';

/*
 * Where a run came from, derived from what Temporal recorded about it rather than from its input. Pure
 * and workflow-safe: `runPlaybook` calls `runProvenance(workflowInfo(), input.trigger)` and records the
 * result (the audit ledger's run start). What each kind of evidence is worth:
 *  - threshold-parent: the run is a child of a threshold entity workflow. Temporal sets the parent; no
 *    client can forge it.
 *  - temporal-schedule: Temporal's TemporalScheduledById / TemporalScheduledStartTime search attributes.
 *    The server sets them on schedule-started runs, but (checked on server 1.32) it also accepts them from
 *    any client allowed to start workflows; for a guarantee, confirm in an activity with
 *    `ScheduleManager.confirmScheduledRun` (asks the schedule whether it started this run id).
 *  - claimed: only the input says so (webhook, manual runs: the starting client is the authority).
 */

/** Set by Temporal on runs a Schedule starts: the schedule id. */
export const SCHEDULED_BY_ID = defineSearchAttributeKey('TemporalScheduledById', SearchAttributeType.KEYWORD);
/** Set by Temporal on runs a Schedule starts: the nominal (scheduled) start time. */
export const SCHEDULED_START_TIME = defineSearchAttributeKey(
  'TemporalScheduledStartTime',
  SearchAttributeType.DATETIME,
);

/** What a run's input claims started it (`RunPlaybookInput.trigger`). */
export interface ClaimedTrigger {
  type: string;
  ref?: string;
}

/** Where a run came from, and how that is known. */
export interface RunProvenance {
  /** schedule | threshold | the claimed type | manual (nothing claimed) | unverified (a claim Temporal contradicts). */
  type: string;
  ref?: string;
  /** For schedule runs: the time the run was scheduled for (not when it started). */
  scheduledAt?: string;
  /** For threshold runs: the entity workflow that started it. */
  parentWorkflowId?: string;
  evidence: 'temporal-schedule' | 'threshold-parent' | 'claimed' | 'none';
  /** The input's claim, when it differs from what Temporal recorded. */
  claimed?: ClaimedTrigger;
  /** Why the claim and the record disagree; absent when they agree. */
  discrepancy?: string;
}

/** The fields of `workflowInfo()` the derivation reads. */
export type ProvenanceInfo = Pick<WorkflowInfo, 'workflowId' | 'typedSearchAttributes' | 'parent'>;

const rfc3339Seconds = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Derives the provenance of the current run from `workflowInfo()` and the input's claimed trigger. */
export function runProvenance(info: ProvenanceInfo, claimed?: ClaimedTrigger): RunProvenance {
  const scheduledBy = info.typedSearchAttributes.get(SCHEDULED_BY_ID);
  if (scheduledBy) {
    const at = info.typedSearchAttributes.get(SCHEDULED_START_TIME);
    const out: RunProvenance = {
      type: 'schedule',
      ref: scheduledBy,
      ...(at ? { scheduledAt: at.toISOString() } : {}),
      evidence: 'temporal-schedule',
    };
    const problems: string[] = [];
    // A schedule names each run `<action workflow id>-<scheduled time, RFC 3339 to the second>`.
    if (!at || !info.workflowId.endsWith(`-${rfc3339Seconds(at)}`)) {
      problems.push('the workflow id does not carry the scheduled time (search attributes set by a client?)');
    }
    if (claimed && (claimed.type !== 'schedule' || (claimed.ref !== undefined && claimed.ref !== scheduledBy))) {
      problems.push(`the input claims ${claimed.type}${claimed.ref ? ` ${claimed.ref}` : ''}`);
    }
    return problems.length ? { ...out, ...(claimed ? { claimed } : {}), discrepancy: problems.join('; ') } : out;
  }
  const parent = info.parent?.workflowId;
  if (parent?.startsWith(THRESHOLD_ENTITY_PREFIX) && info.workflowId.startsWith(THRESHOLD_RUN_PREFIX)) {
    const rule = claimed?.type === 'threshold' ? claimed.ref?.split('/')[0] : undefined;
    const consistent =
      rule !== undefined &&
      new RegExp(`^${escapeRe(THRESHOLD_ENTITY_PREFIX + rule)}-[0-9a-f]{12}-`).test(parent) &&
      info.workflowId.startsWith(`${THRESHOLD_RUN_PREFIX}${rule}-`);
    return {
      type: 'threshold',
      ...(consistent ? { ref: claimed!.ref } : {}),
      parentWorkflowId: parent,
      evidence: 'threshold-parent',
      ...(consistent
        ? {}
        : {
            ...(claimed ? { claimed } : {}),
            discrepancy: 'the input does not name the rule of the entity that started it',
          }),
    };
  }
  if (claimed?.type === 'schedule' || claimed?.type === 'threshold') {
    return {
      type: 'unverified',
      evidence: 'none',
      claimed,
      discrepancy: `the input claims a ${claimed.type} trigger, but Temporal records no ${claimed.type === 'schedule' ? 'schedule' : 'threshold entity'} starting this run`,
    };
  }
  if (claimed) return { type: claimed.type, ...(claimed.ref ? { ref: claimed.ref } : {}), evidence: 'claimed' };
  return { type: 'manual', evidence: 'none' };
}
