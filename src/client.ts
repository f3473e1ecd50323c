import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { Client, WorkflowExecutionDescription, WorkflowExecutionInfo } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { WardenConfig } from './config';
import { loadConfig } from './config';
import { UserError } from './errors';
import { formatIssues } from './governance/issues';
import { GovernorClient } from './activities/governor-client';
import type { ApprovalAttempt, ApprovalSignal, PendingApproval } from './governance/approvals';
import { connectClient } from './runtime/connection';
import type { ControlSignal } from './workflows/definitions';
import {
  approvalAttemptsQuery,
  approvalSignal,
  controlSignal,
  pendingApprovalsQuery,
  runStateQuery,
} from './workflows/definitions';
import type { ControlRecord, RunState } from './workflows/engine/state';
import { WORKFLOW_CATALOG } from './workflows/catalog';

/** The task queue Warden workers poll when WARDEN_TASK_QUEUE is unset. */
export const DEFAULT_TASK_QUEUE = 'warden';

/** A run as the CLI and HTTP API show it. */
export interface RunSummary {
  workflowId: string;
  runId: string;
  type: string;
  status: string;
  taskQueue: string;
  startTime: string;
  closeTime: string | undefined;
  historyLength: number | undefined;
}

/** Options for {@link WardenClient.start}. */
export interface StartOptions {
  /** Business key; starting the same id twice is refused (idempotent start). @default <prefix>-<uuid> */
  workflowId?: string;
  /** Temporal user metadata shown in the Web UI. */
  summary?: string;
  /** Who starts the run (runs that record an initiator). @default the OS user */
  initiator?: string;
  /** A duplicate id returns the existing run (`duplicate: true`) instead of failing (webhooks). */
  idempotent?: boolean;
}

function entryNeedsInitiator(workflowType: string): boolean {
  return workflowType === 'runPlaybook';
}

function toSummary(info: WorkflowExecutionInfo | WorkflowExecutionDescription): RunSummary {
  return {
    workflowId: info.workflowId,
    runId: info.runId,
    type: info.type,
    status: info.status.name,
    taskQueue: info.taskQueue,
    startTime: info.startTime.toISOString(),
    closeTime: info.closeTime?.toISOString(),
    historyLength: info.historyLength || undefined,
  };
}

/**
 * Typed helpers over the Temporal client used by the CLI and the HTTP server: start, signal, query,
 * list, describe. Errors that a user can fix are thrown as UserError with what to do.
 */
export class WardenClient {
  constructor(
    readonly temporal: Client,
    readonly taskQueue: string = DEFAULT_TASK_QUEUE,
  ) {}

  /** Connects using configuration from the environment (or the given config). */
  static async connect(config: WardenConfig = loadConfig()): Promise<WardenClient> {
    return new WardenClient(await connectClient(config), config.taskQueue);
  }

  /** Closes the underlying connection. */
  async close(): Promise<void> {
    await this.temporal.connection.close();
  }

  /**
   * Validates `input` against the workflow's schema, then starts it.
   * @throws UserError for an unknown workflow type, invalid input (no run is started) or a duplicate id.
   */
  async start(
    workflowType: string,
    input: unknown,
    opts: StartOptions = {},
  ): Promise<{ workflowId: string; runId: string; duplicate?: boolean }> {
    if (entryNeedsInitiator(workflowType) && input && typeof input === 'object' && !('initiator' in input)) {
      input = { ...input, initiator: opts.initiator ?? os.userInfo().username };
    }
    const entry = WORKFLOW_CATALOG[workflowType];
    if (!entry) {
      throw new UserError(
        `unknown workflow "${workflowType}" — known workflows: ${Object.keys(WORKFLOW_CATALOG).join(', ')}`,
      );
    }
    const parsed = entry.input.safeParse(input ?? {});
    if (!parsed.success) {
      throw new UserError(`invalid input for ${workflowType}: ${formatIssues(parsed.error)} — no run was started`);
    }
    const workflowId = opts.workflowId ?? `${entry.idPrefix}-${randomUUID()}`;
    try {
      const handle = await this.temporal.workflow.start(workflowType, {
        taskQueue: this.taskQueue,
        workflowId,
        args: [parsed.data],
        staticSummary: (opts.summary ?? entry.summarize(parsed.data as never)).slice(0, 200),
        // A workflow id is a business key: never a second run for it, even after the first has closed.
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
      });
      return { workflowId, runId: handle.firstExecutionRunId };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        if (opts.idempotent) {
          const existing = await this.temporal.workflow.getHandle(workflowId).describe();
          return { workflowId, runId: existing.runId, duplicate: true };
        }
        throw new UserError(
          `a run with id ${workflowId} already exists — pick another id or inspect it with \`warden status ${workflowId}\``,
        );
      }
      throw err;
    }
  }

  /** Describes a run. @throws UserError when no run has that id. */
  async describe(workflowId: string): Promise<RunSummary & { raw: WorkflowExecutionDescription }> {
    try {
      const d = await this.temporal.workflow.getHandle(workflowId).describe();
      return { ...toSummary(d), raw: d };
    } catch (err) {
      throw this.notFound(err, workflowId);
    }
  }

  /** Waits for a run's result. */
  async result<T = unknown>(workflowId: string): Promise<T> {
    try {
      return (await this.temporal.workflow.getHandle(workflowId).result()) as T;
    } catch (err) {
      throw this.notFound(err, workflowId);
    }
  }

  /** Sends a signal. A signal returns nothing: learn its effect by querying the run. */
  async signal(workflowId: string, signalName: string, payload: unknown): Promise<void> {
    try {
      await this.temporal.workflow.getHandle(workflowId).signal(signalName, payload);
    } catch (err) {
      throw this.notFound(err, workflowId);
    }
  }

  /** Runs a query against a (running or closed) run. */
  async query<T = unknown>(workflowId: string, queryName: string, ...args: unknown[]): Promise<T> {
    try {
      return await this.temporal.workflow.getHandle(workflowId).query<T, unknown[]>(queryName, ...args);
    } catch (err) {
      throw this.notFound(err, workflowId);
    }
  }

  /**
   * Lists runs, newest first, through Temporal visibility.
   * @param query a Temporal visibility query, e.g. `ExecutionStatus = "Running"`
   */
  async list(opts: { query?: string; limit?: number } = {}): Promise<RunSummary[]> {
    const out: RunSummary[] = [];
    const limit = opts.limit ?? 20;
    for await (const info of this.temporal.workflow.list({ query: opts.query, pageSize: Math.min(limit, 100) })) {
      out.push(toSummary(info));
      if (out.length >= limit) break;
    }
    return out;
  }

  /** Pending approvals across running runs (and their forEach batches), oldest first. */
  async pendingApprovals(limit = 200): Promise<PendingApproval[]> {
    const runs = await this.list({
      query: 'ExecutionStatus = "Running" AND (WorkflowType = "runPlaybook" OR WorkflowType = "forEachBatch")',
      limit,
    });
    const all = await Promise.all(
      runs.map((r) =>
        this.query<PendingApproval[]>(r.workflowId, pendingApprovalsQuery.name).catch(() => [] as PendingApproval[]),
      ),
    );
    return all.flat().sort((a, b) => a.requestedAt.localeCompare(b.requestedAt));
  }

  /**
   * Approves or rejects a pending approval and reports what the run made of it. A signal returns nothing,
   * so the decision carries a request id and the outcome is read back through `approvalAttempts`.
   * @throws UserError when the run or the approval does not exist.
   */
  async decide(
    workflowId: string,
    approvalId: string,
    decision: 'approve' | 'reject',
    approver: string,
    reason?: string,
  ): Promise<ApprovalAttempt> {
    const pending = await this.query<PendingApproval[]>(workflowId, pendingApprovalsQuery.name);
    const target = pending.find((p) => p.approvalId === approvalId);
    if (!target) {
      const known = pending.map((p) => p.approvalId).join(', ') || 'none';
      throw new UserError(
        `run ${workflowId} has no pending approval "${approvalId}" (pending: ${known}) — see \`warden approvals\``,
      );
    }
    const requestId = randomUUID();
    const payload: ApprovalSignal = {
      approvalId,
      decision,
      approver,
      requestId,
      actionHash: target.actionHash,
      ...(reason ? { reason } : {}),
    };
    await this.signal(workflowId, approvalSignal.name, payload);
    return this.waitFor(
      async () => (await this.query<ApprovalAttempt[]>(workflowId, approvalAttemptsQuery.name, requestId))[0],
    );
  }

  /** Pauses, resumes or cancels a run; resolves with what the run recorded for this request. */
  async control(
    workflowId: string,
    action: ControlSignal['action'],
    by: string,
    reason?: string,
  ): Promise<ControlRecord> {
    const requestId = randomUUID();
    const payload: ControlSignal = { action, by, requestId, ...(reason ? { reason } : {}) };
    await this.signal(workflowId, controlSignal.name, payload);
    return this.waitFor(async () =>
      (await this.query<RunState>(workflowId, runStateQuery.name)).controls.find((c) => c.requestId === requestId),
    );
  }

  /** The fleet-wide governor (kill switch, breakers). */
  governor(governorId: string): GovernorClient {
    return new GovernorClient(this.temporal, governorId, this.taskQueue, 0);
  }

  private async waitFor<T>(read: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await read();
      if (v !== undefined) return v;
      if (Date.now() > deadline)
        throw new UserError(
          'the run did not record the request in time — is a worker running? (`warden worker` or `warden dev`)',
        );
      await new Promise((r) => setTimeout(r, 150));
    }
  }

  private notFound(err: unknown, workflowId: string): unknown {
    if (err instanceof WorkflowNotFoundError || (err as { name?: string }).name === 'WorkflowNotFoundError') {
      return new UserError(`no run with id "${workflowId}" — list runs with \`warden ls\``);
    }
    return err;
  }
}
