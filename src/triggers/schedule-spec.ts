import { createHash } from 'node:crypto';
import type { ScheduleOptions, ScheduleOverlapPolicy } from '@temporalio/client';
import canonicalize from 'canonicalize';
import ms from 'ms';
import { z } from 'zod';
import { formatIssues } from '../governance/issues';
import { Playbook } from '../governance/steps';
import { UserError } from '../errors';
import { RunPlaybookInput } from '../workflows/catalog';

/*
 * A Warden schedule as data, and its translation into a Temporal Schedule that starts `runPlaybook`.
 * The playbook travels inline in the schedule's action, so every run executes exactly what was scheduled.
 */

/** Overlap policies by their CLI names. @default skip (a security playbook should not stack up) */
export const OVERLAP_POLICIES = {
  skip: 'SKIP',
  'buffer-one': 'BUFFER_ONE',
  'buffer-all': 'BUFFER_ALL',
  'cancel-other': 'CANCEL_OTHER',
  'terminate-other': 'TERMINATE_OTHER',
  'allow-all': 'ALLOW_ALL',
} as const satisfies Record<string, ScheduleOverlapPolicy>;
/** An overlap policy's CLI name. */
export type OverlapName = keyof typeof OVERLAP_POLICIES;

/** Workflow-id prefix of scheduled runs; Temporal appends `-<scheduled time>` to each. */
export const SCHEDULED_RUN_PREFIX = 'scheduled-';
/** Memo key (on the schedule and on each run it starts) marking what Warden manages. */
export const MANAGED_BY_MEMO = 'managedBy';
/** Action-memo key holding the definition digest, so a sync updates only what changed. */
export const DIGEST_MEMO = 'wardenScheduleDigest';

const YEAR = 366 * 86_400_000;
const duration = (min: number) =>
  z.string().refine(
    (v) => {
      const n = ms(v as ms.StringValue);
      return typeof n === 'number' && n >= min && n <= YEAR;
    },
    { message: `must be a duration like 90s, 15m, 4h or 1d (between ${ms(min)} and 366d)` },
  );

/** Schedule ids: a business key, also the prefix of its runs' workflow ids. */
export const SCHEDULE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** What a Warden schedule is: when, which playbook with which input, and how runs may overlap. */
export const ScheduleDefinition = z
  .object({
    id: z.string().regex(SCHEDULE_ID, 'must be letters, digits, ".", "_" or "-" (at most 100)'),
    description: z.string().max(500).default(''),
    /** Cron expressions, UTC (5-7 fields, or @daily/@hourly/...). Exactly one of cron and every. */
    cron: z.array(z.string().min(1).max(200)).min(1).max(10).optional(),
    /** An interval such as `15m` or `24h`. */
    every: duration(1000).optional(),
    overlap: z.enum(Object.keys(OVERLAP_POLICIES) as [OverlapName, ...OverlapName[]]).default('skip'),
    /** After an outage, missed runs later than this are skipped rather than started late. */
    catchupWindow: duration(1000).default('10m'),
    paused: z.boolean().default(false),
    /** Shown next to the paused state in the Web UI and `warden schedule describe`. */
    note: z.string().max(500).optional(),
    playbook: Playbook,
    /** Where the playbook came from (bundled name or file), for the record. */
    playbookRef: z.string().max(500).optional(),
    input: z.record(z.string(), z.unknown()).default({}),
  })
  .strict()
  .refine((d) => (d.cron === undefined) !== (d.every === undefined), {
    message: 'give exactly one of cron (a cron expression) and every (an interval)',
  });
/** What a Warden schedule is. */
export type ScheduleDefinition = z.output<typeof ScheduleDefinition>;

/** Parses a definition. @throws UserError listing every problem; nothing is created. */
export function parseScheduleDefinition(raw: unknown): ScheduleDefinition {
  const parsed = ScheduleDefinition.safeParse(raw);
  if (!parsed.success) throw new UserError(`invalid schedule: ${formatIssues(parsed.error, '(schedule)')}`);
  return parsed.data;
}

/** The spec as one line: `cron 0 9 * * 1-5` or `every 15m`. */
export function specText(def: Pick<ScheduleDefinition, 'cron' | 'every'>): string {
  return def.cron ? `cron ${def.cron.join(' | ')}` : `every ${def.every ?? '?'}`;
}

/** The `runPlaybook` input each scheduled run receives: provenance included (verified at run time). */
export function scheduledRunInput(def: ScheduleDefinition): RunPlaybookInput {
  const parsed = RunPlaybookInput.safeParse({
    playbook: def.playbook,
    input: def.input,
    initiator: `schedule:${def.id}`,
    trigger: { type: 'schedule', ref: def.id },
  });
  if (!parsed.success) throw new UserError(`invalid schedule "${def.id}": ${formatIssues(parsed.error)}`);
  return parsed.data;
}

/** A digest of everything a schedule does (not its paused state), to tell whether an update is needed. */
export function definitionDigest(def: ScheduleDefinition, taskQueue: string): string {
  const { paused: _p, note: _n, ...what } = def;
  return createHash('sha256')
    .update(canonicalize({ ...what, taskQueue })!)
    .digest('hex')
    .slice(0, 16);
}

/**
 * The Temporal Schedule for a definition: starts `runPlaybook` on `taskQueue` with workflow ids
 * `scheduled-<id>-<time>`, a summary and memo that read well on the Web UI's Schedules page.
 */
export function toScheduleOptions(def: ScheduleDefinition, taskQueue: string): ScheduleOptions {
  const args = scheduledRunInput(def);
  const spec = def.cron ? { cronExpressions: def.cron } : { intervals: [{ every: def.every as ms.StringValue }] };
  const description = def.description || `runs playbook ${def.playbook.name}`;
  return {
    scheduleId: def.id,
    spec,
    action: {
      type: 'startWorkflow',
      workflowType: 'runPlaybook',
      taskQueue,
      workflowId: `${SCHEDULED_RUN_PREFIX}${def.id}`,
      args: [args],
      staticSummary: `playbook ${def.playbook.name} — schedule ${def.id} (${specText(def)})`.slice(0, 200),
      staticDetails: description,
      memo: {
        [MANAGED_BY_MEMO]: 'warden',
        schedule: def.id,
        spec: specText(def),
        description,
        [DIGEST_MEMO]: definitionDigest(def, taskQueue),
      },
    },
    policies: {
      overlap: OVERLAP_POLICIES[def.overlap],
      catchupWindow: def.catchupWindow as ms.StringValue,
      pauseOnFailure: false,
    },
    memo: {
      [MANAGED_BY_MEMO]: 'warden',
      description,
      playbook: def.playbook.name,
      ...(def.playbookRef ? { playbookRef: def.playbookRef } : {}),
      spec: specText(def),
    },
    state: { paused: def.paused, ...(def.note ? { note: def.note } : {}) },
  };
}
