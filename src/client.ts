import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import type { Client, WorkflowExecutionDescription, WorkflowExecutionInfo } from '@temporalio/client';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { SignalDefinition } from '@temporalio/common';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { WardenConfig } from './config';
import { loadConfig } from './config';
import { UserError } from './errors';
import { formatIssues } from './governance/issues';
import { GovernorClient } from './activities/governor-client';
import type { ApprovalAttempt, ApprovalSignal, PendingApproval } from './governance/approvals';
import { approvalFields } from './governance/approvals';
import type { Signer } from './identity/keyring';
import type { FleetKey } from './identity/fleet-key';
import { loadFleetKey } from './identity/fleet-key';
import { attestStart, signStart } from './identity/start-attestation';
import { controlFields } from './identity/signed-request';
import type { RunPlaybookInput } from './workflows/catalog';
import { connectClient } from './runtime/connection';
import type { ControlSignal } from './workflows/contract';
import {
  approvalAttemptsQuery,
  controlUpdate,
  decideApprovalUpdate,
  pendingApprovalsQuery,
  runStateQuery,
} from './workflows/contract';
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

/** Why a closed run failed, as Temporal recorded it. */
export interface RunFailure {
  type: string;
  message: string;
}

/** What became of the step an approval unlocked (see {@link WardenClient.afterApproval}). */
export interface AfterApproval {
  outcome: 'completed' | 'failed' | 'running';
  stepId?: string;
  kind?: string;
  error?: { type: string; message: string };
}

/** What `warden status` shows: see {@link WardenClient.report}. */
export interface RunReport {
  summary: RunSummary;
  state?: RunState;
  /** What the run (and its running forEach batches) waits for. */
  pending: PendingApproval[];
  failure?: RunFailure;
  /** Queries that got no answer (no worker running?). */
  unavailable: string[];
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
  /** The initiator's signer: the run's initiator is then verified by their signature (`warden run`). */
  signer?: Signer;
}

/** A Warden service that vouches for the initiators it authenticated itself (the HTTP server), under the fleet key. */
export interface StartAttestor {
  key: FleetKey;
  service: string;
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

/** Deeper input is refused before validation (a recursive schema would exhaust the stack on it). */
const MAX_INPUT_DEPTH = 64;

/** How deep objects and arrays nest in `v`, counting no further than `limit + 1` (iterative: never overflows). */
function nestingDepth(v: unknown, limit: number): number {
  let max = 0;
  const stack: [unknown, number][] = [[v, 0]];
  while (stack.length) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    max = Math.max(max, depth + 1);
    if (max > limit) return max;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return max;
}

/**
 * Typed helpers over the Temporal client used by the CLI and the HTTP server: start, signal, query,
 * list, describe. Errors that a user can fix are thrown as UserError with what to do.
 */
export class WardenClient {
  constructor(
    readonly temporal: Client,
    readonly taskQueue: string = DEFAULT_TASK_QUEUE,
    /** Set in Warden's own services: runs they start carry an attestation of the initiator they authenticated. */
    private readonly attestor?: StartAttestor,
  ) {}

  /**
   * Connects using configuration from the environment (or the given config). `attestAs` names the Warden
   * service this process is (it holds the fleet key and vouches for the initiators it authenticated).
   */
  static async connect(config: WardenConfig = loadConfig(), opts: { attestAs?: string } = {}): Promise<WardenClient> {
    return new WardenClient(
      await connectClient(config),
      config.taskQueue,
      opts.attestAs ? { key: loadFleetKey(config.fleetKeyFile), service: opts.attestAs } : undefined,
    );
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
    const depth = nestingDepth(input, MAX_INPUT_DEPTH);
    if (depth > MAX_INPUT_DEPTH)
      throw new UserError(
        `invalid input for ${workflowType}: it nests more than ${MAX_INPUT_DEPTH} levels deep — flatten the playbook (no run was started)`,
      );
    const parsed = entry.input.safeParse(input ?? {});
    if (!parsed.success) {
      throw new UserError(`invalid input for ${workflowType}: ${formatIssues(parsed.error)} — no run was started`);
    }
    const workflowId = opts.workflowId ?? `${entry.idPrefix}-${randomUUID()}`;
    const args = entryNeedsInitiator(workflowType)
      ? this.attested(workflowId, parsed.data as RunPlaybookInput, opts)
      : parsed.data;
    try {
      const handle = await this.temporal.workflow.start(workflowType, {
        taskQueue: this.taskQueue,
        workflowId,
        args: [args],
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

  /**
   * Sends a signal (one of the definitions in src/workflows/contract.ts). A signal returns nothing: prefer
   * the matching update, which answers with what the run recorded.
   */
  async signal<Args extends unknown[]>(workflowId: string, def: SignalDefinition<Args>, ...args: Args): Promise<void> {
    try {
      await this.temporal.workflow.getHandle(workflowId).signal(def, ...args);
    } catch (err) {
      throw this.notFound(err, workflowId);
    }
  }

  /**
   * The input a run was started with, from its history (decoded with this client's data converter, so
   * encrypted payloads too). @throws UserError when no run has that id.
   */
  async startInput<T = unknown>(workflowId: string): Promise<T> {
    const history = await this.guard(workflowId, () => this.temporal.workflow.getHandle(workflowId).fetchHistory());
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    if (!started) throw new UserError(`run ${workflowId} has no start event in its history`);
    return decodeFromPayloadsAtIndex<T>(this.temporal.options.loadedDataConverter, 0, started.input?.payloads);
  }

  /** A run's status, steps, decisions, agent turns and interrupts (`runState` query). */
  async runState(workflowId: string): Promise<RunState> {
    return this.guard(workflowId, () => this.temporal.workflow.getHandle(workflowId).query(runStateQuery));
  }

  /**
   * Everything `warden status` shows about one run: its Temporal summary; for Warden runs its `runState`
   * and what it waits for (its own approvals and those of its running forEach batches); for a failed run
   * the failure Temporal recorded. Queries that no worker answers within `queryTimeoutMs` are left out
   * (`unavailable` says which), never waited on forever.
   */
  async report(workflowId: string, queryTimeoutMs = 10_000): Promise<RunReport> {
    const { raw, ...summary } = await this.describe(workflowId);
    const out: RunReport = { summary, pending: [], unavailable: [] };
    const query = <T>(what: string, fn: () => Promise<T>): Promise<T | undefined> =>
      this.temporal.connection.withDeadline(Date.now() + queryTimeoutMs, fn).catch((err: unknown) => {
        out.unavailable.push(`${what}: ${(err as Error).message.split('\n')[0]}`);
        return undefined;
      });
    if (summary.status === 'FAILED' || summary.status === 'TERMINATED' || summary.status === 'TIMED_OUT')
      out.failure = await this.closeFailure(workflowId).catch(() => undefined);
    if (!['runPlaybook', 'forEachBatch'].includes(raw.type)) return out;
    out.state = await query('runState', () => this.runState(workflowId));
    if (summary.status !== 'RUNNING') return out;
    out.pending.push(...((await query('pendingApprovals', () => this.pendingApprovalsOf(workflowId))) ?? []));
    const batches = await this.list({
      query: `ParentWorkflowId = "${workflowId.replace(/["\\]/g, '')}" AND ExecutionStatus = "Running"`,
      limit: 50,
    }).catch(() => [] as RunSummary[]);
    for (const b of batches)
      out.pending.push(
        ...((await query(`pendingApprovals of ${b.workflowId}`, () => this.pendingApprovalsOf(b.workflowId))) ?? []),
      );
    return out;
  }

  /**
   * What became of the step an approval unlocked: polls the run's `runState` for up to `waitMs` until
   * that step finished. `failed` with the error when the approved action (or step) failed; `running`
   * when it had not finished by then (or no worker answered).
   */
  async afterApproval(workflowId: string, approvalId: string, waitMs = 8_000): Promise<AfterApproval> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const state = await this.temporal.connection
        .withDeadline(Date.now() + 5_000, () => this.runState(workflowId))
        .catch(() => undefined);
      const step = state?.steps.find((x) => x.approval?.approvalId === approvalId);
      if (step) {
        const error = step.approval?.actionError ?? (step.status === 'failed' ? step.error : undefined);
        if (error) return { stepId: step.stepId, kind: step.kind, outcome: 'failed', error };
        if (step.status === 'completed') return { stepId: step.stepId, kind: step.kind, outcome: 'completed' };
      }
      if (Date.now() >= deadline)
        return { outcome: 'running', ...(step ? { stepId: step.stepId, kind: step.kind } : {}) };
      await new Promise((r) => setTimeout(r, 400));
    }
  }

  /** The failure a closed run ended with, from its history (no worker needed). */
  async closeFailure(workflowId: string): Promise<RunFailure | undefined> {
    const history = await this.temporal.workflow.getHandle(workflowId).fetchHistory();
    const last = history.events?.at(-1);
    const failed = last?.workflowExecutionFailedEventAttributes?.failure;
    if (failed)
      return {
        type: failed.applicationFailureInfo?.type ?? 'WorkflowFailed',
        message: failed.message ?? '(no message)',
      };
    const terminated = last?.workflowExecutionTerminatedEventAttributes;
    if (terminated) return { type: 'Terminated', message: terminated.reason || '(no reason given)' };
    if (last?.workflowExecutionTimedOutEventAttributes) return { type: 'TimedOut', message: 'the run timed out' };
    return undefined;
  }

  /** The input with an attestation of its initiator: theirs (signer), or this service's; unchanged otherwise. */
  private attested(workflowId: string, input: RunPlaybookInput, opts: StartOptions): RunPlaybookInput {
    if (input.attestation) return input;
    const subject = {
      workflowId,
      initiator: input.initiator,
      playbook: input.playbook,
      input: input.input,
      trigger: input.trigger,
    };
    if (opts.signer && opts.signer.principal === input.initiator)
      return { ...input, attestation: signStart(opts.signer, subject) };
    if (this.attestor) return { ...input, attestation: attestStart(this.attestor.key, this.attestor.service, subject) };
    return input;
  }

  /** What one run waits for (`pendingApprovals` query). */
  async pendingApprovalsOf(workflowId: string): Promise<PendingApproval[]> {
    return this.guard(workflowId, () => this.temporal.workflow.getHandle(workflowId).query(pendingApprovalsQuery));
  }

  /** Every attempt to decide one run's approvals, or the one sent with `requestId` (`approvalAttempts` query). */
  async approvalAttempts(workflowId: string, requestId?: string): Promise<ApprovalAttempt[]> {
    return this.guard(workflowId, () =>
      this.temporal.workflow.getHandle(workflowId).query(approvalAttemptsQuery, requestId),
    );
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

  /** Pending approvals across this deployment's running runs (and their forEach batches), oldest first. */
  async pendingApprovals(limit = 200, opts: { taskQueue?: string } = {}): Promise<PendingApproval[]> {
    // This deployment's runs only (its task queue): another deployment's runs in the namespace may have no
    // worker here to answer the query, and each would make the listing wait.
    const tq = (opts.taskQueue ?? this.taskQueue).replace(/["\\]/g, '');
    const queue = ` AND TaskQueue = "${tq}"`;
    const runs = await this.list({
      query: `ExecutionStatus = "Running" AND (WorkflowType = "runPlaybook" OR WorkflowType = "forEachBatch")${queue}`,
      limit,
    });
    const all = await Promise.all(
      runs.map((r) => this.pendingApprovalsOf(r.workflowId).catch(() => [] as PendingApproval[])),
    );
    return all.flat().sort((a, b) => a.requestedAt.localeCompare(b.requestedAt));
  }

  /**
   * Approves or rejects a pending approval and answers with what the run made of it (the
   * `decideApproval` update: accepted, or refused and why — refusals are recorded too).
   * @throws UserError when the run or the approval does not exist.
   */
  async decide(
    workflowId: string,
    approvalId: string,
    decision: 'approve' | 'reject',
    signer: Signer,
    reason?: string,
  ): Promise<ApprovalAttempt> {
    const payload = await this.signedDecision(workflowId, approvalId, decision, signer, reason);
    return this.update(workflowId, () =>
      this.temporal.workflow.getHandle(workflowId).executeUpdate(decideApprovalUpdate, { args: [payload] }),
    );
  }

  /**
   * The signed `approval` payload for a pending approval: binds the run, the approval, the action hash the
   * run shows, the decision, the approver and the reason. `warden approve --print-signal` prints it.
   * @throws UserError when the run or the approval does not exist.
   */
  async signedDecision(
    workflowId: string,
    approvalId: string,
    decision: 'approve' | 'reject',
    signer: Signer,
    reason?: string,
  ): Promise<ApprovalSignal> {
    // Sign only for one of Warden's own runs on this task queue: any workflow can answer the query.
    const desc = await this.guard(workflowId, () => this.temporal.workflow.getHandle(workflowId).describe());
    if (!['runPlaybook', 'forEachBatch'].includes(desc.type) || desc.taskQueue !== this.taskQueue)
      throw new UserError(
        `${workflowId} is a ${desc.type} on task queue ${desc.taskQueue}, not a Warden run on ${this.taskQueue}: not signing`,
      );
    const pending = await this.pendingApprovalsOf(workflowId);
    const target = pending.find((p) => p.approvalId === approvalId && p.workflowId === workflowId);
    if (!target) {
      const known = pending.map((p) => p.approvalId).join(', ') || 'none';
      throw new UserError(
        `run ${workflowId} has no pending approval "${approvalId}" (pending: ${known}) — see \`warden approvals\``,
      );
    }
    const body = {
      approvalId,
      decision,
      approver: signer.principal,
      actionHash: target.actionHash,
      ...(reason ? { reason } : {}),
    };
    return {
      ...body,
      requestId: randomUUID(),
      signature: signer.sign('approval', approvalFields(workflowId, body)),
    };
  }

  /** Pauses, resumes or cancels a run; answers with the request as the run recorded it (accepted or refused). */
  async control(
    workflowId: string,
    action: ControlSignal['action'],
    signer: Signer,
    reason?: string,
  ): Promise<ControlRecord> {
    const body = { action, by: signer.principal, ...(reason ? { reason } : {}) };
    const payload: ControlSignal = {
      ...body,
      requestId: randomUUID(),
      signature: signer.sign('control', controlFields(workflowId, body)),
    };
    return this.update(workflowId, () =>
      this.temporal.workflow.getHandle(workflowId).executeUpdate(controlUpdate, { args: [payload] }),
    );
  }

  /** The fleet-wide governor (kill switch, breakers). */
  governor(governorId: string): GovernorClient {
    return new GovernorClient(this.temporal, governorId, this.taskQueue, 0);
  }

  private async guard<T>(workflowId: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.notFound(err, workflowId);
    }
  }

  /** Runs an update; a closed run or one that cannot take updates becomes a UserError saying so. */
  private async update<T>(workflowId: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError)
        throw new UserError(`run ${workflowId} refused the request: ${err.cause?.message ?? err.message}`);
      const e = this.notFound(err, workflowId);
      if (e instanceof UserError) throw e;
      if (
        (err as { name?: string }).name === 'WorkflowNotFoundError' ||
        /completed|closed/i.test((err as Error).message)
      )
        throw new UserError(`run ${workflowId} has already ended — see \`warden status ${workflowId}\``);
      throw err;
    }
  }

  private notFound(err: unknown, workflowId: string): unknown {
    if (err instanceof WorkflowNotFoundError || (err as { name?: string }).name === 'WorkflowNotFoundError') {
      return new UserError(`no run with id "${workflowId}" — list runs with \`warden ls\``);
    }
    return err;
  }
}
