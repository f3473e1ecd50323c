import type { Client, ScheduleDescription, ScheduleSummary } from '@temporalio/client';
import { ScheduleAlreadyRunning, ScheduleNotFoundError } from '@temporalio/client';
import ms from 'ms';
import { UserError } from '../errors';
import { DIGEST_MEMO, MANAGED_BY_MEMO, SCHEDULE_ID, definitionDigest, toScheduleOptions } from './schedule-spec';
import type { ScheduleDefinition } from './schedule-spec';
import { calendarText } from './schedule-calendar';

/** One run a schedule started. */
export interface ScheduledRun {
  workflowId: string;
  runId: string;
  scheduledAt: string;
  takenAt: string;
}

/** A schedule as `warden schedule ls/describe` and their `--json` show it. */
export interface ScheduleView {
  id: string;
  description: string | undefined;
  playbook: string | undefined;
  spec: string;
  paused: boolean;
  note: string | undefined;
  /** Whether Warden created it (its memo says so); others are listed but left alone by sync. */
  managed: boolean;
  nextRuns: string[];
  recentRuns: ScheduledRun[];
  /** Present on describe only. */
  overlap?: string;
  catchupWindow?: string;
  running?: string[];
  actionsTaken?: number;
  skippedOverlap?: number;
  missedCatchupWindow?: number;
  createdAt?: string;
}

function specOf(spec: ScheduleSummary['spec']): string {
  if (!spec) return '?';
  const parts = [
    ...(spec.intervals ?? []).map((i) => `every ${ms(i.every)}${i.offset ? ` (offset ${ms(i.offset)})` : ''}`),
    ...(spec.calendars ?? []).map((c) => `cron ${calendarText(c)}`),
  ];
  return parts.join(' | ') || '(no times)';
}

function runsOf(s: Pick<ScheduleSummary, 'info'>): ScheduledRun[] {
  return s.info.recentActions.map((a) => ({
    workflowId: a.action.workflow.workflowId,
    runId: a.action.workflow.firstExecutionRunId,
    scheduledAt: a.scheduledAt.toISOString(),
    takenAt: a.takenAt.toISOString(),
  }));
}

function memoString(memo: Record<string, unknown> | undefined, key: string): string | undefined {
  const v = memo?.[key];
  return typeof v === 'string' ? v : undefined;
}

function viewOf(s: ScheduleSummary | ScheduleDescription): ScheduleView {
  return {
    id: s.scheduleId,
    description: memoString(s.memo, 'description'),
    playbook: memoString(s.memo, 'playbook'),
    spec: specOf(s.spec),
    paused: s.state.paused,
    note: s.state.note || undefined,
    managed: memoString(s.memo, MANAGED_BY_MEMO) === 'warden',
    nextRuns: s.info.nextActionTimes.map((d) => d.toISOString()),
    recentRuns: runsOf(s),
  };
}

/** What {@link ScheduleManager.upsert} did. */
export type UpsertOutcome = 'created' | 'updated' | 'unchanged';

/**
 * Warden's schedules on Temporal's ScheduleClient (Temporal runs them: no timer lives in any Warden
 * process). Every method maps Temporal's errors to a UserError saying what to do.
 */
export class ScheduleManager {
  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
  ) {}

  /** Creates a schedule. @throws UserError if the id exists or Temporal refuses the spec. */
  async create(def: ScheduleDefinition): Promise<ScheduleView> {
    await this.call(def.id, () => this.client.schedule.create(toScheduleOptions(def, this.taskQueue)));
    return this.describe(def.id);
  }

  /**
   * Creates the schedule, or updates it when what it does changed (spec, playbook, input, policies).
   * An existing schedule keeps its paused state and note: an operator's pause survives a sync.
   */
  async upsert(def: ScheduleDefinition): Promise<UpsertOutcome> {
    const handle = this.client.schedule.getHandle(def.id);
    let current: ScheduleDescription;
    try {
      current = await handle.describe();
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw this.mapError(def.id, err);
      await this.call(def.id, () => this.client.schedule.create(toScheduleOptions(def, this.taskQueue)));
      return 'created';
    }
    if (current.action.memo?.[DIGEST_MEMO] === definitionDigest(def, this.taskQueue)) return 'unchanged';
    const next = toScheduleOptions(def, this.taskQueue);
    await this.call(def.id, () =>
      handle.update((prev) => ({
        spec: next.spec,
        action: next.action,
        policies: next.policies,
        state: { paused: prev.state.paused, ...(prev.state.note ? { note: prev.state.note } : {}) },
      })),
    );
    return 'updated';
  }

  /** Describes one schedule, with its recent and next runs. @throws UserError when it does not exist. */
  async describe(id: string): Promise<ScheduleView> {
    const d = await this.call(id, () => this.client.schedule.getHandle(id).describe());
    return {
      ...viewOf(d),
      description: memoString(d.action.memo, 'description') ?? memoString(d.memo, 'description'),
      spec: memoString(d.action.memo, 'spec') ?? specOf(d.spec),
      overlap: (d.policies.overlap ?? 'SKIP').toLowerCase().replace('_', '-'),
      catchupWindow: ms(d.policies.catchupWindow),
      running: d.info.runningActions.map((a) => a.workflow.workflowId),
      actionsTaken: d.info.numActionsTaken,
      skippedOverlap: d.info.numActionsSkippedOverlap,
      missedCatchupWindow: d.info.numActionsMissedCatchupWindow,
      createdAt: d.info.createdAt.toISOString(),
    };
  }

  /** Lists schedules (Temporal's list is eventually consistent: a new schedule may take a moment). */
  async list(limit = 200): Promise<ScheduleView[]> {
    const out: ScheduleView[] = [];
    try {
      for await (const s of this.client.schedule.list({ pageSize: Math.min(limit, 100) })) {
        out.push(viewOf(s));
        if (out.length >= limit) break;
      }
    } catch (err) {
      throw this.mapError('(list)', err);
    }
    return out.sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Pauses a schedule; `note` says why (shown in the Web UI). */
  async pause(id: string, note?: string): Promise<ScheduleView> {
    await this.call(id, () => this.client.schedule.getHandle(id).pause(note ?? 'paused with warden schedule pause'));
    return this.describe(id);
  }

  /** Resumes a paused schedule. */
  async unpause(id: string, note?: string): Promise<ScheduleView> {
    await this.call(id, () =>
      this.client.schedule.getHandle(id).unpause(note ?? 'unpaused with warden schedule unpause'),
    );
    return this.describe(id);
  }

  /**
   * Starts one run now (even when paused), under the schedule's overlap policy, and waits up to `waitMs`
   * for Temporal to record it. Resolves with the run, or undefined if it was skipped (overlap) or is late.
   */
  async trigger(id: string, waitMs = 15_000): Promise<ScheduledRun | undefined> {
    const handle = this.client.schedule.getHandle(id);
    const before = new Set(
      (await this.call(id, () => handle.describe())).info.recentActions.map((a) => a.action.workflow.workflowId),
    );
    await this.call(id, () => handle.trigger());
    const deadline = Date.now() + waitMs;
    for (;;) {
      const d = await this.call(id, () => handle.describe());
      const fresh = runsOf(d).filter((r) => !before.has(r.workflowId));
      if (fresh.length) return fresh[fresh.length - 1];
      if (Date.now() > deadline) return undefined;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Deletes a schedule; runs it started keep running. */
  async delete(id: string): Promise<void> {
    await this.call(id, () => this.client.schedule.getHandle(id).delete());
  }

  /**
   * Asks the schedule itself whether it started this run: the authoritative provenance check (search
   * attributes on a run can be set by any client allowed to start workflows). For an activity at run start.
   */
  async confirmScheduledRun(scheduleId: string, workflowId: string, runId: string): Promise<boolean> {
    if (!SCHEDULE_ID.test(scheduleId)) return false;
    let d: ScheduleDescription;
    try {
      d = await this.client.schedule.getHandle(scheduleId).describe();
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) return false;
      throw err;
    }
    const started = [...d.info.recentActions.map((a) => a.action), ...d.info.runningActions];
    return started.some((a) => a.workflow.workflowId === workflowId && a.workflow.firstExecutionRunId === runId);
  }

  private async call<T>(id: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.mapError(id, err);
    }
  }

  private mapError(id: string, err: unknown): unknown {
    if (err instanceof ScheduleNotFoundError) {
      return new UserError(`no schedule "${id}" — list schedules with \`warden schedule ls\``);
    }
    if (err instanceof ScheduleAlreadyRunning) {
      return new UserError(
        `schedule "${id}" already exists — inspect it with \`warden schedule describe ${id}\`, or delete it first`,
      );
    }
    // The SDK turns an invalid spec into a TypeError carrying the server's words.
    if (err instanceof TypeError) return new UserError(`Temporal refused schedule "${id}": ${err.message}`);
    const grpc = (err as { cause?: { code?: number; details?: string } }).cause;
    // INVALID_ARGUMENT: Temporal refused the definition (a bad cron expression, an id it does not accept).
    if (grpc?.code === 3) return new UserError(`Temporal refused schedule "${id}": ${grpc.details ?? String(err)}`);
    return err;
  }
}
